"""WSGI entry point (gunicorn leadcrm.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadcrm.settings")
application = get_wsgi_application()
