"""Managers unlock users: they get view/delete on django-axes' access attempts (README: Security)."""
from django.db import migrations

from leads.roles import roles_ensure


def grant(apps, schema_editor):
    roles_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("leads", "0019_sec_same_identity_duplicates"), ("axes", "0010_accessattemptexpiration")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
