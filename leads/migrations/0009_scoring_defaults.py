"""Default scoring rules and settings, and the probability index (PostgreSQL: NULLS LAST)."""
from django.db import migrations

DEFAULT_RULES = [
    # (name, group, field, operator, value, event, url_pattern, points, cap)
    ("Corporate email", "fit", "email_kind", "equals", "corporate", "", "", 15, None),
    ("Free-mail address", "fit", "email_kind", "equals", "free", "", "", -5, None),
    ("Disposable email", "fit", "email_kind", "equals", "disposable", "", "", -20, None),
    ("C-level", "fit", "seniority", "equals", "c_level", "", "", 15, None),
    ("VP", "fit", "seniority", "equals", "vp", "", "", 12, None),
    ("Director", "fit", "seniority", "equals", "director", "", "", 8, None),
    ("Manager", "fit", "seniority", "equals", "manager", "", "", 4, None),
    ("Target country", "fit", "country", "in", ["US", "GB", "DE", "FR", "NL", "CA", "AU"], "", "", 8, None),
    ("Company of 51-1,000", "fit", "company_size", "in", ["51-200", "201-500", "501-1000"], "", "", 8, None),
    ("Company over 1,000", "fit", "company_size", "in", ["1001-5000", "5001+"], "", "", 10, None),
    ("Email bouncing", "fit", "email_bouncing", "equals", True, "", "", -15, None),
    ("Visited pricing", "engagement", "", "", None, "page_view", "/pricing", 10, 20),
    ("Visited demo", "engagement", "", "", None, "page_view", "/demo", 10, 20),
    ("Page views", "engagement", "", "", None, "page_view", "", 1, 10),
    ("Form submit", "engagement", "", "", None, "form_submit", "", 10, 20),
    ("Email reply", "engagement", "", "", None, "email_replied", "", 15, 30),
    ("Email click", "engagement", "", "", None, "email_clicked", "", 3, 9),
    ("Call", "engagement", "", "", None, "call", "", 5, 15),
    ("Unsubscribed", "engagement", "", "", None, "unsubscribe", "", -25, None),
]


def forwards(apps, schema_editor):
    from leads.roles import roles_ensure

    roles_ensure(apps)  # managers get the new scoring models' permissions
    ScoringRule = apps.get_model("leads", "ScoringRule")
    ScoringConfig = apps.get_model("leads", "ScoringConfig")
    ScoringConfig.objects.get_or_create(pk=1)
    if not ScoringRule.objects.exists():
        ScoringRule.objects.bulk_create(
            ScoringRule(
                name=name, group=group, field=field, operator=operator, value=value, event=event,
                url_pattern=url_pattern, points=points, cap=cap, position=position,
            )
            for position, (name, group, field, operator, value, event, url_pattern, points, cap) in enumerate(DEFAULT_RULES)
        )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS lead_probability_idx ON leads_lead (probability DESC NULLS LAST, id DESC)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS lead_probability_idx")


class Migration(migrations.Migration):
    dependencies = [("leads", "0008_scoring")]
    operations = [migrations.RunPython(forwards, backwards)]
