"""The customers' search haystack gains the job title, and the phone gets the index the global
search's exact match uses (same drop-and-add of the generated column as leads 0026)."""
import django.db.models.functions.text
from django.db import migrations, models

CREATE = "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer USING gin (search_text gin_trgm_ops)"
DROP = "DROP INDEX IF EXISTS customer_search_trgm"


def index_forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def index_backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_filter_indexes"), ("leads", "0034_search_job_title")]
    operations = [
        migrations.RunPython(index_backwards, index_forwards),
        migrations.RemoveField(model_name="customer", name="search_text"),
        migrations.AddField(
            model_name="customer", name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Lower(
                    django.db.models.functions.text.Concat(
                        "name", models.Value(" "), "company", models.Value(" "), "email", models.Value(" "), "phone",
                        models.Value(" "), "job_title", output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(index_forwards, index_backwards),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(condition=models.Q(("phone", ""), _negated=True), fields=["phone"], name="customer_phone_idx"),
        ),
    ]
