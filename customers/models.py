"""Customers: leads that bought."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Concat, Lower, Upper
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import CountryField

from leads.models import NormalizedEmailField


class Customer(models.Model):
    name = models.CharField(max_length=300)
    company = models.CharField(max_length=200, blank=True)
    email = NormalizedEmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    domain = models.CharField(
        max_length=254, blank=True, help_text="The company's registered domain; conversion matches on it."
    )
    job_title = models.CharField(max_length=200, blank=True)
    website = models.URLField(max_length=500, blank=True)
    country = CountryField(blank=True)
    city = models.CharField(max_length=100, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    converted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    lead = models.OneToOneField("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="customer")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "name",
                models.Value(" "),
                "company",
                models.Value(" "),
                "email",
                models.Value(" "),
                "phone",
                models.Value(" "),
                "job_title",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="customer_email_lowercase"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="customer_created_idx"),
            models.Index(fields=["owner", "-created_at"], name="customer_owner_idx"),
            models.Index(fields=["email"], condition=~Q(email=""), name="customer_email_idx"),
            models.Index(fields=["phone"], condition=~Q(phone=""), name="customer_phone_idx"),  # the global search
            models.Index(fields=["domain"], condition=~Q(domain=""), name="customer_domain_idx"),
            # One per list filter and ordering (customers.filters.CustomerFilter).
            models.Index(fields=["country", "-created_at"], name="customer_country_idx"),
            models.Index(Upper("industry"), name="customer_industry_idx"),  # ?industry= is case-insensitive
            models.Index(fields=["name", "id"], name="customer_name_idx"),
            models.Index(fields=["-updated_at"], name="customer_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])
