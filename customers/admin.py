from django.contrib import admin

from leads.pagination import FastCountPaginator

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "email", "owner", "created_at")
    list_filter = ("owner", ("created_at", admin.DateFieldListFilter))
    search_fields = ("name", "company", "email", "phone")
    list_select_related = ("owner",)
    raw_id_fields = ("lead",)
    paginator = FastCountPaginator
    show_full_result_count = False
