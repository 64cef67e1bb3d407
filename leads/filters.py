"""FilterSets shared by the HTML lists and the API (one definition, one validation)."""

from datetime import UTC

import django_filters as filters
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Case, F, IntegerField, QuerySet, When
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from .common.timezones import zones_callable_now
from .models import RANKED_PATHS, Lead, rank_joined, ranked

SEARCH_MAX_LENGTH = 200
DATETIME_OUT_OF_RANGE = "Enter a date and time that falls between the years 1 and 9999 in UTC."


class UTCIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with any offset, handed to the database in UTC: PostgreSQL holds offsets up to
    ±15:59 only (`+16:41` was a 500), and a date at the edge of the calendar may not convert."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            utc = parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(DATETIME_OUT_OF_RANGE, code="invalid") from None
        return utc


class UTCIsoDateTimeFilter(filters.IsoDateTimeFilter):
    """IsoDateTimeFilter whose value reaches the database in UTC (see UTCIsoDateTimeField)."""

    field_class = UTCIsoDateTimeField


class ChoiceInFilter(filters.BaseInFilter, filters.ChoiceFilter):
    """`?status=new,active`: a comma-separated list, each value checked against the choices."""


def callable_now(queryset: QuerySet, name: str, value: bool) -> QuerySet:
    """Leads whose local time is inside business hours now (or, with false, outside them)."""
    zones = zones_callable_now()
    return queryset.filter(time_zone__in=zones) if value else queryset.exclude(time_zone__in=zones)


def _nullable(model, name: str) -> bool:
    """Whether the model's column can hold NULL (an annotation such as callable_now cannot)."""
    try:
        return model._meta.get_field(name).null
    except FieldDoesNotExist:
        return False


class NullsLastOrderingFilter(filters.OrderingFilter):
    """Ordering with NULLs last in both directions and the id as the tie-break, in the first
    column's direction (newest first going down, oldest first going up), so pages are stable and
    every offered ordering is served by an index: read forwards or backwards, each ordering's index
    (`column DESC, id DESC`) then gives the whole order, ties included. With `-id` going up too, the
    index read backwards gave the column's order only, and an incremental sort had to read the whole
    group of equal values at the page's edge (thousands of leads share a score: the manager's HTML
    list by `score`, 77 ms at a million leads; bench/README.md, issue 22 §1)."""

    def filter(self, qs: QuerySet, value):
        if not value:
            return qs
        expressions = []
        first_descending = None
        for param in value:
            descending = param.startswith("-")
            if first_descending is None:
                first_descending = descending
            field = self.param_map[param.lstrip("-")]
            if field == "callable_now":
                qs = qs.annotate(
                    callable_now=Case(
                        When(time_zone__in=zones_callable_now(), then=1), default=0, output_field=IntegerField()
                    )
                )
            # NULLS LAST only where NULLs can be: on a NOT NULL column PostgreSQL still treats
            # "score DESC NULLS LAST" as another order than lead_score_idx's "score DESC" (NULLS FIRST)
            # and sorted every match instead of reading the index (the board's ?ordering=-score
            # took 1.6 s per column at a million leads; "My hot leads" is ?ordering=-score).
            nulls_last = True if _nullable(qs.model, field) else None
            # Read in the order of the rank table's index; but no index gives a nullable column
            # going up with its NULLs last (they are built DESC NULLS LAST), so every match is sorted
            # anyway, and on the lead row's own copy without a rank lookup per match (the HTML list
            # of 15,000 `gmbh` leads by probability: ~105 ms; bench/README.md, issue 22 §1).
            if field in RANKED_PATHS and (descending or not nulls_last):
                qs, field = ranked(qs), RANKED_PATHS[field]
            expressions.append(
                F(field).desc(nulls_last=nulls_last) if descending else F(field).asc(nulls_last=nulls_last)
            )
        expressions.append(F("id").desc() if first_descending else F("id").asc())
        return qs.order_by(*expressions)


def substring_search(queryset: QuerySet, name: str, value: str) -> QuerySet:
    """Match a substring of the lower-cased `search_text` column (trigram-indexed on PostgreSQL)."""
    term = value.strip().lower()
    return queryset.filter(search_text__contains=term) if term else queryset


class HumanFilterSet(filters.FilterSet):
    """A FilterSet shown to people as well as to API clients. Every filter states a `label` a person
    would write (django-filter otherwise makes "[invalid name]" of a method filter and "Created at is
    greater than or equal to" of a lookup); the help texts document the API parameters (schema) and
    are left out of the HTML form, where they read like "prefix - for descending"."""

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_human", False):
            for field in form.fields.values():
                field.help_text = ""
            form._human = True
        return form


class LeadFilter(HumanFilterSet):
    status = ChoiceInFilter(
        field_name="status",
        choices=Lead.Status.choices,
        label=_("Status"),
        help_text="One status, or several: new,active",
    )
    source = ChoiceInFilter(
        field_name="source", choices=Lead.Source.choices, label=_("Source"), help_text="One or more channels."
    )
    # The score columns are filtered and ordered on their copy in the rank table, whose indexes
    # serve them (leads/models/rank.py); the lead row has no index on them.
    grade = ChoiceInFilter(
        field_name=RANKED_PATHS["grade"],
        choices=Lead.Grade.choices,
        label=_("Grade"),
        help_text="One grade, or several: A,B",
    )
    search = filters.CharFilter(
        method=substring_search,
        max_length=SEARCH_MAX_LENGTH,
        label=_("Search"),
        help_text="Substring of the name, email, company, phone or job title.",
    )
    owner = filters.CharFilter(
        field_name="owner__username", label=_("Owner (username)"), help_text="The owner's username."
    )
    unassigned = filters.BooleanFilter(
        field_name="owner", lookup_expr="isnull", label=_("Unassigned"), help_text="Leads with no owner."
    )
    score_min = filters.NumberFilter(
        field_name=RANKED_PATHS["score"], lookup_expr="gte", min_value=0, max_value=100, label=_("Score from")
    )
    score_max = filters.NumberFilter(
        field_name=RANKED_PATHS["score"], lookup_expr="lte", min_value=0, max_value=100, label=_("Score up to")
    )
    created_after = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("Created from"))
    created_before = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Created before"))
    callable_now = filters.BooleanFilter(
        method=callable_now,
        label=_("Callable now"),
        help_text="Leads inside business hours in their own time zone right now.",
    )
    ordering = NullsLastOrderingFilter(
        fields=(
            ("created_at", "created_at"),
            ("score", "score"),
            ("probability", "probability"),
            ("updated_at", "updated_at"),
            ("last_activity_at", "last_activity_at"),
            ("callable_now", "callable_now"),
        ),
        field_labels={
            "created_at": _("Created"),
            "score": _("Score"),
            "probability": _("Probability"),
            "updated_at": _("Updated"),
            "last_activity_at": _("Last activity"),
            "callable_now": _("Callable now"),
        },
        label=_("Sort by"),
        help_text="created_at, score, probability, updated_at, last_activity_at or callable_now; prefix - for descending.",
    )

    def filter_queryset(self, queryset):
        """The filters, then: a list that reads the rank table (filtered or ordered by score or
        grade) says its statuses on the rank row too, so the rank table's (status, …) indexes
        serve the status tab (leads.models.rank.rank_joined)."""
        queryset = super().filter_queryset(queryset)
        statuses = self.form.cleaned_data.get("status")
        if statuses and rank_joined(queryset):
            queryset = queryset.filter(rank__status__in=statuses)
        return queryset

    class Meta:
        model = Lead
        fields = [
            "status",
            "source",
            "grade",
            "search",
            "owner",
            "unassigned",
            "score_min",
            "score_max",
            "created_after",
            "created_before",
            "callable_now",
            "ordering",
        ]
