"""Server-rendered customer pages: the list (search and filters, as for leads); a customer's page
(its fields, every linked lead, their merged timeline, notes, tasks and calls) is customers/page.py."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads.views import filtered_page

from . import page
from .selectors import customer_filterset


@login_required
def customer_list_view(request: HttpRequest) -> HttpResponse:
    filterset = customer_filterset(user=request.user, data=request.GET)
    return render(
        request,
        "customers/customer_list.html",
        filtered_page(request, filterset),
        status=200 if filterset.is_valid() else 400,
    )


def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's page (customers/page.py holds it and its actions)."""
    return page.customer_detail_view(request, pk)
