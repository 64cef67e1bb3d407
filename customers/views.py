"""Server-rendered customer pages: the list (search and filters, as for leads) and a customer's
page (the fields copied from its lead, every linked lead, and their merged timeline)."""
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from leads.pagination import FastCountPaginator
from leads.rep_email.page import customer_email_context
from leads.views import filtered_page

from .models import Customer
from .selectors import customer_filterset, customer_get, customer_timeline

TIMELINE_PAGE_SIZE = 50


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
        customer = customer_get(user=request.user, pk=pk)
    except Customer.DoesNotExist as exc:
        raise Http404("No such customer.") from exc
    linked = list(customer.linked_leads)
    if customer.lead is not None and all(lead.pk != customer.lead_id for lead in linked):
        linked.insert(0, customer.lead)  # the lead it came from, even if it was unlinked since
    page = FastCountPaginator(customer_timeline(customer=customer), TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "customers/customer_detail.html",
        {
            "customer": customer, "linked_leads": linked, "timeline": page.object_list, "page": page,
            "paginator": page.paginator, "query": "", "show_lead": True,
        } | customer_email_context(request=request, leads=linked),  # email compose + threads (docs/reps.md)
    )
