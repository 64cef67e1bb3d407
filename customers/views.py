"""Server-rendered customer pages."""
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from leads.views import filtered_page

from .models import Customer
from .selectors import customer_filterset, customer_timeline, customer_visible_to


@login_required
def customer_list_view(request: HttpRequest) -> HttpResponse:
    filterset = customer_filterset(user=request.user, data=request.GET)
    return render(
        request, "customers/customer_list.html", filtered_page(request, filterset),
        status=200 if filterset.is_valid() else 400,
    )


@login_required
def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        customer = customer_visible_to(request.user).select_related("owner", "lead").get(pk=pk)
    except Customer.DoesNotExist as exc:
        raise Http404("No such customer.") from exc
    return render(
        request, "customers/customer_detail.html",
        {"customer": customer, "timeline": customer_timeline(customer=customer)[:100]},
    )
