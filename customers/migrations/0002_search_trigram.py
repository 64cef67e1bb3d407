"""Trigram index for the customer ?search= (PostgreSQL only)."""
from django.db import migrations

CREATE = "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer USING gin (search_text gin_trgm_ops)"
DROP = "DROP INDEX IF EXISTS customer_search_trgm"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial"), ("leads", "0002_search_trigram")]
    operations = [migrations.RunPython(forwards, backwards)]
