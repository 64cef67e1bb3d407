"""The machine's ceiling for a capture: a Django view that parses a form post and makes one ORM INSERT.

Issue 22 §2 measures the public form against what this machine can serve at all: Django's WSGI
handler, no middleware, `request.POST` parsed, one `Model.objects.create()` of a narrow row on a
persistent PostgreSQL connection, a small JSON answer. `bench/capture_bench.py --ceiling` serves it
with the same gunicorn options as `bin/serve.sh web` and drives it with the same wrk script, so a
capture run and a ceiling run can be interleaved and compared on a machine whose speed moves.

    gunicorn --chdir bench ceiling_app:application      # DATABASE_URL names the bench's database
"""

from __future__ import annotations

import os

import django
import environ
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="ceiling-bench-not-secret",
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["ceiling_app"],
        MIDDLEWARE=[],
        USE_TZ=True,
        DATABASES={
            "default": {
                **environ.Env.db_url_config(
                    os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_capturebench")
                ),
                "CONN_MAX_AGE": 600,
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGGING_CONFIG=None,
    )
    django.setup()

import ceiling_table  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import models  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


class Post(models.Model):
    email = models.CharField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "ceiling_app"
        db_table = ceiling_table.TABLE


@csrf_exempt
def capture(request):
    if request.method != "POST":
        return JsonResponse({"ok": True})
    data = request.POST
    post = Post.objects.create(
        email=data.get("email", ""),
        first_name=data.get("first_name", ""),
        company=data.get("company", ""),
        message=data.get("message", ""),
    )
    return JsonResponse({"ok": True, "id": post.pk}, status=201)


urlpatterns = [path("f/bench", capture)]
application = get_wsgi_application()
