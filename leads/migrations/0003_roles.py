"""Create the three role groups with their permissions."""
from django.db import migrations

from leads.roles import roles_ensure


def create_roles(apps, schema_editor):
    roles_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0002_search_trigram"),
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
