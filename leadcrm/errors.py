"""Error pages and the favicon: the 500 page in the site's layout, with the navigation when the user can still be read.

Django renders 500.html without the request (a broken database must not break the error page
too); this handler tries the request's context first and falls back to that."""

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponsePermanentRedirect, HttpResponseServerError
from django.template import loader
from django.templatetags.static import static


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponseServerError:
    """The 500 page: with the user's navigation if the user can be read, else without it."""
    template = loader.get_template(template_name)
    try:
        body = template.render({}, request)
    except DatabaseError:
        # The session or the user could not be read (the database may be why we are here).
        body = template.render({})
    return HttpResponseServerError(body)


def favicon_view(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """/favicon.ico, which browsers ask for whatever the page links: the site's icon (resolved per
    request, since the hashed static name exists only after collectstatic)."""
    return HttpResponsePermanentRedirect(static("leadcrm/favicon.svg"))
