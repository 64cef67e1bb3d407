"""PostgreSQL-only indexes: trigram for ?search= (substring over name, email, company,
phone) and last activity, newest first with NULLs last (SQLite cannot say NULLS LAST
in an index). The embedded SQLite default scans, which is fine at demo size.
"""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS lead_search_trgm ON leads_lead USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS lead_last_activity_idx ON leads_lead (last_activity_at DESC NULLS LAST, id DESC)",
]
DROP = ["DROP INDEX IF EXISTS lead_search_trgm", "DROP INDEX IF EXISTS lead_last_activity_idx"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]
    operations = [TrigramExtension(), migrations.RunPython(forwards, backwards)]
