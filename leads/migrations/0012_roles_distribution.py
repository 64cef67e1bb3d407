"""Grant the roles their permissions on the distribution models."""
from django.db import migrations

from leads.roles import roles_ensure


def grant(apps, schema_editor):
    roles_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("leads", "0011_distribution")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
