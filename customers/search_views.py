"""The global search's page: `/search/?q=…` (works without JavaScript; Enter in the navigation's
box opens it) and, asked by htmx while typing, the dropdown under the box (static/leadcrm/search.js)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from leads.search import DROPDOWN_LIMIT, GROUP_LIMIT, MIN_SUBSTRING

from .search import search_everything


@login_required
def search_view(request: HttpRequest) -> HttpResponse:
    """Leads and customers matching ?q=, grouped by kind; the htmx dropdown is the same, shorter."""
    term = request.GET.get("q", "")
    dropdown = bool(request.htmx) and request.GET.get("dropdown") == "1"
    results = search_everything(user=request.user, term=term, limit=DROPDOWN_LIMIT if dropdown else GROUP_LIMIT)
    list_query = urlencode({"search": results.terms.raw}) if results.terms.raw else ""
    context = {"q": results.terms.raw, "results": results, "min_length": MIN_SUBSTRING, "list_query": list_query}
    return render(request, "customers/_search_dropdown.html" if dropdown else "customers/search.html", context)
