"""Grant the roles their permissions on the nurturing and workspace models."""
from django.db import migrations

from leads.roles import roles_ensure


def grant(apps, schema_editor):
    roles_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("leads", "0013_nurturing_workspace")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
