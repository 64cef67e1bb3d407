# The planner's estimate of a `?search=` term comes from the histogram of `search_text` (no value
# repeats, so there is no most-common list): the share of the histogram's bounds that contain the
# term. With PostgreSQL's default of 100 bounds, a term in one lead of 70 (15,000 of a million)
# matched none of them in some ANALYZE samples and was estimated at 100 rows, the floor; the page
# query then read all 15,000 matches by bitmap and sorted them (94 ms of SQL) instead of walking
# the ordering's index until a page was full (13 ms). Which plan won changed with every ANALYZE.
# With 1,000 bounds such a term is expected in 15 of them. The cost is ANALYZE's: it samples 300
# rows per bound, so a whole-table ANALYZE at a million leads takes ~20 s instead of ~1.5 s, in
# autovacuum (bench/README.md, "Session of 2026-12-07, morning").
# Dropping and adding the column again (as 0034 did) resets the target: set it again there.

from django.db import migrations

TARGET = 1000


def statistics_set(apps, schema_editor, target=TARGET):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE leads_lead ALTER COLUMN search_text SET STATISTICS {int(target)}")


def statistics_reset(apps, schema_editor):
    statistics_set(apps, schema_editor, target=-1)


class Migration(migrations.Migration):
    dependencies = [("leads", "0038_lead_rank")]
    operations = [migrations.RunPython(statistics_set, statistics_reset)]
