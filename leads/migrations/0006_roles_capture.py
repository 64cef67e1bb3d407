"""Grant the roles their permissions on the capture models added in 0004 and 0005."""
from django.db import migrations

from leads.roles import roles_ensure


def grant(apps, schema_editor):
    roles_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("leads", "0005_channels")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
