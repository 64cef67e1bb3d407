"""Lead and interaction JSON. Validation rules live in leads.common.validation and are shared."""

import copy
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache, cached_property

from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django_countries.serializer_fields import CountryField
from rest_framework import ISO_8601, serializers
from rest_framework.relations import PKOnlyObject, RelatedField
from rest_framework.settings import api_settings

from ..common.normalize import normalize_email
from ..common.safejson import RawJSON
from ..common.urls import PK_MARKER, pk_filled
from ..common.validation import REASSIGN_FORBIDDEN, lead_clean
from ..models import Interaction, Lead, Team
from ..roles import is_manager

READ_ONLY = (
    "id",
    "score",
    "grade",
    "probability",
    "first_contacted_at",
    "last_activity_at",
    "processed_at",
    "created_at",
    "updated_at",
)


class _Placeholder:
    pk = PK_MARKER


class LeadURLField(serializers.HyperlinkedIdentityField):
    """The lead's API URL, reversed once per request and filled in per lead (a reverse per lead
    was ~10 % of a 500-lead page)."""

    def get_url(self, obj, view_name, request, format):
        if format or getattr(obj, "pk", None) in (None, ""):
            return super().get_url(obj, view_name, request, format)
        return pk_filled(self.url_template(request), obj.pk)

    def url_template(self, request) -> str:
        """This request's lead URL with PK_MARKER for the pk (pk_filled), reversed once per request."""
        cached = getattr(self, "_template", None)
        if cached is None or cached[0] is not request:
            cached = self._template = (request, super().get_url(_Placeholder, self.view_name, request, None))
        return cached[1]


class LeadSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    country = CountryField(required=False, allow_blank=True)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    attributes = serializers.JSONField(required=False)
    url = LeadURLField(view_name="api:lead-detail")
    # "" until the lead is scored: the schema said A–D only, and "" broke clients that trusted it.
    grade = serializers.ChoiceField(
        choices=Lead.Grade.choices, allow_blank=True, read_only=True, help_text='A–D, or "" while not yet graded.'
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "url",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "job_title",
            "website",
            "country",
            "region",
            "city",
            "postal_code",
            "time_zone",
            "industry",
            "company_size",
            "source",
            "source_detail",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "status",
            "lost_reason",
            "score",
            "grade",
            "probability",
            "owner",
            "team",
            "external_id",
            "email_opt_in",
            "do_not_contact",
            "attributes",
            "first_contacted_at",
            "last_activity_at",
            "processed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = READ_ONLY
        # Uniqueness (email, external_id) is the database's job: an upsert-safe constraint
        # answered as 409 naming the existing lead, never a check-then-insert race.
        extra_kwargs = {"external_id": {"validators": []}}
        validators = []

    def get_fields(self):
        """DRF's fields, worked out from the model once per process and copied per serializer:
        building 39 fields from the model's metadata was ~1.7 ms of every API request. Each copy is
        shallow (`copy.copy`: a new, unbound field sharing the prototype's validators, choices and
        querysets, which nothing changes after a field is built); DRF's deep copy builds every field
        again from its arguments, ~0.56 ms against ~0.1 ms. Binding to this serializer, and the
        per-request state a field keeps (the URL template, a time field's zone), happen on the copy."""
        built = type(self).__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built = built
        return {name: _field_copy(field) for name, field in built.items()}

    def to_representation(self, instance):
        """DRF's to_representation with the same output, cheaper per field: a plain model field is
        read with getattr and a text or number kept as it is (DRF's get_attribute and
        to_representation per field were most of a 500-lead page's CPU); relations, the URL, the
        country and times go through DRF as before. A dict (validated data) takes DRF's own path."""
        if isinstance(instance, Mapping):
            return super().to_representation(instance)
        if isinstance(instance, tuple):  # a page row of page_values()
            return self._row_read(instance)
        ret = {}
        for name, source, field, convert in self._read_plan:
            if source is None:
                try:
                    attribute = field.get_attribute(instance)
                except serializers.SkipField:
                    continue
                check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            else:
                attribute = check = getattr(instance, source)
            ret[name] = None if check is None else convert(attribute)
        return ret

    @cached_property
    def _read_plan(self) -> list[tuple]:
        plan = []
        for field in self._readable_fields:
            plain = not isinstance(field, RelatedField | serializers.BaseSerializer) and (
                len(field.source_attrs) == 1 and field.source != "*"
            )
            if isinstance(field, serializers.DateTimeField) and not hasattr(field, "timezone"):
                field.timezone = field.default_timezone()  # the request's zone, looked up once per page
            convert = _SAME_WHEN.get(type(field))
            plan.append(
                (field.field_name, field.source_attrs[0] if plain else None, field, convert or field.to_representation)
            )
        return plan

    @cached_property
    def _row_read(self):
        """What turns a row of page_values() into the lead's JSON dict. The row holds the fields'
        columns in the fields' order (`id` as `pk`, the owner's username, the team's id; not the
        URL, filled in from the pk), so the dict is built by zip and only the columns whose value
        DRF would change are converted: a database text, number, boolean or JSON value is already
        what DRF returns for it (IDENTICAL_ON_ROWS), a time goes through `datetime_text`."""
        template = None
        names, converts = [], []
        for name, source, field, convert in self._read_plan:
            if name == "url":  # (the API's SimpleRouter has no format suffixes)
                template = field.url_template(field.context.get("request"))
                continue
            names.append(name)
            if source in _page_json_columns():
                converts.append((name, RawJSON))  # the column's text (page_values)
                continue
            if source is None or (type(field) in IDENTICAL_ON_ROWS and not getattr(field, "binary", False)):
                continue  # (a related field's column is the username or id DRF returns)
            if isinstance(field, serializers.DateTimeField):
                convert = datetime_text(field)
                if source in _page_time_columns():
                    convert = _time_text(convert)  # (read as text in UTC: page_values)
            elif isinstance(field, CountryField):
                convert = _remembered(convert)  # a code's answer is the same all page long
            converts.append((name, convert))
        if [name for name, *_ in self._read_plan[:2]] != ["id", "url"] or len(names) != len(_page_columns()):
            raise ImproperlyConfigured("A page row holds the pk, then one column for each field but the URL.")
        rest, fill = names[1:], pk_filled  # (zip stops at the fields: page_values' `raw` columns follow)

        def read(row: tuple) -> dict:
            pk = row[0]
            ret = {"id": pk, "url": fill(template, pk)}
            ret.update(zip(rest, row[1:]))
            for name, convert in converts:
                if (value := ret[name]) is not None:
                    ret[name] = convert(value)
            return ret

        return read

    def validate_email(self, value: str) -> str:
        return normalize_email(value)

    def validate_owner(self, owner: User | None) -> User | None:
        user = self.context["request"].user
        current = self.instance.owner if self.instance else None
        if owner != current and not is_manager(user) and owner != user:
            raise serializers.ValidationError(REASSIGN_FORBIDDEN)
        return owner

    def validate(self, attrs: dict) -> dict:
        current = None
        if self.instance is not None:
            current = {name: getattr(self.instance, name) for name in ("status", "lost_reason", "country")}
        try:
            return lead_clean(attrs, current=current)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc


# What a page row (page_values) holds for each related field of the serializer.
PAGE_RELATED = {"owner": "owner__username", "team": "team_id"}


def page_values(queryset: QuerySet, *, raw: tuple[str, ...] = ()) -> QuerySet:
    """The lead list's rows as named tuples of the columns LeadSerializer reads: no model instances
    (three per lead with the owner and team), no unread columns (a lead row has 69): a 500-lead page
    spent ~30 ms of CPU building them (bench/README.md, issue 22 §1).

    Some columns are read as the database's text (5 ms of the 15 ms a 500-lead page spent reading
    and converting its rows): a JSON column, answered as that text (RawJSON), not decoded only to be
    encoded again; and on PostgreSQL in UTC the times, turned into DRF's ISO text by string work
    (_time_text), not parsed and written back. `raw` names columns also wanted as their values, after
    the rest (the keyset's sort column, for its cursor)."""
    as_text = {f"{name}{AS_TEXT}": Cast(name, TextField()) for name in _page_json_columns()}
    if _times_as_utc_text(queryset.db):
        as_text.update({f"{name}{AS_TEXT}": Cast(name, TextField()) for name in _page_time_columns()})
    columns = [f"{name}{AS_TEXT}" if f"{name}{AS_TEXT}" in as_text else name for name in _page_columns()]
    columns += [name for name in raw if name not in columns]
    return queryset.annotate(**as_text).values_list(*columns, named=True)


def _utc_is_current() -> bool:
    zone = timezone.get_current_timezone()
    return zone is UTC or getattr(zone, "key", None) == "UTC"


def _times_as_utc_text(db: str) -> bool:
    """Whether PostgreSQL's text of a time on this connection is `YYYY-MM-DD HH:MM:SS[.ffffff]+00`
    (DateStyle ISO, TimeZone UTC), and the answer is in UTC: then page_values reads times as text."""
    connection = connections[db]
    if connection.vendor != "postgresql" or not _utc_is_current():
        return False
    connection.ensure_connection()
    info = connection.connection.info
    return info.parameter_status("TimeZone") == "UTC" and (info.parameter_status("DateStyle") or "").startswith("ISO")


_PG_UTC_TIME = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00")


def _time_text(convert):
    """DRF's ISO 8601 text of a time read as PostgreSQL's UTC text (page_values), by string work:
    parsing each time and writing it back was a sixth of a 500-lead page's CPU. `convert` takes
    a time read as a datetime (any other zone)."""

    def text(value):
        if type(value) is not str:
            return convert(value)
        if len(value) == 22 and value[10] == " " and value[19:] == "+00":  # whole seconds: most times
            return f"{value[:10]}T{value[11:19]}Z"
        match = _PG_UTC_TIME.fullmatch(value)
        if match is None:
            raise ValueError(f"not a UTC time as PostgreSQL writes it: {value!r}")
        day, seconds, fraction = match.groups()
        return f"{day}T{seconds}.{fraction:0<6}Z" if fraction else f"{day}T{seconds}Z"

    return text


AS_TEXT = "_as_text"  # what page_values calls a column it reads as the database's text


@cache
def _page_columns() -> tuple[str, ...]:
    columns = ["pk"]
    for name, field in LeadSerializer().fields.items():
        if name in PAGE_RELATED:
            columns.append(PAGE_RELATED[name])
        elif field.source not in ("*", "id"):
            columns.append(field.source)
    return tuple(columns)


@cache
def _page_time_columns() -> frozenset[str]:
    """The page's time columns that DRF writes in ISO 8601 in the request's zone."""
    return frozenset(
        field.source
        for field in LeadSerializer().fields.values()
        if type(field) is serializers.DateTimeField
        and _iso(field)
        and getattr(field, "timezone", None) is None
        and field.source in _page_columns()
    )


def _iso(field: serializers.DateTimeField) -> bool:
    output = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return isinstance(output, str) and output.lower() == ISO_8601


@cache
def _page_json_columns() -> frozenset[str]:
    """The page's columns that hold JSON answered as it is stored (serializers.JSONField)."""
    return frozenset(
        field.source
        for field in LeadSerializer().fields.values()
        if type(field) is serializers.JSONField and not field.binary and field.source in _page_columns()
    )


def _field_copy(field: serializers.Field) -> serializers.Field:
    """A shallow copy of an unbound field; a deep one of a field that holds fields bound to it
    (a list's child, a many-relation's child relation, a nested serializer)."""
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation"):
        return copy.deepcopy(field)
    return copy.copy(field)


# DRF fields whose to_representation returns a database value of their column's type unchanged
# (str() of a text, int() of an integer, a choice's own text, a JSON value as loaded). Exact
# types: a subclass may convert (django-countries' CountryField is a ChoiceField).
IDENTICAL_ON_ROWS = frozenset(
    {
        serializers.CharField,
        serializers.EmailField,
        serializers.URLField,
        serializers.ChoiceField,
        serializers.IntegerField,
        serializers.FloatField,
        serializers.BooleanField,
        serializers.JSONField,
    }
)


def _remembered(convert):
    answers = {}

    def remembered(value):
        if (answer := answers.get(value, answers)) is answers:
            answer = answers[value] = convert(value)
        return answer

    return remembered


def datetime_text(field: serializers.DateTimeField):
    """DRF's DateTimeField.to_representation for an aware datetime in ISO 8601 (the default
    format): the time in the field's zone, `Z` for UTC. Anything else takes DRF's own path."""
    zone = getattr(field, "timezone", None)
    output = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if zone is None or not isinstance(output, str) or output.lower() != ISO_8601:
        return field.to_representation

    # psycopg's UTC times carry datetime.UTC; the default zone is zoneinfo's UTC: the same clock.
    same = {zone, UTC} if getattr(zone, "key", None) == "UTC" else {zone}

    def text(value):
        if type(value) is not datetime or value.tzinfo is None:
            return field.to_representation(value)
        try:
            shown = (value if value.tzinfo in same else value.astimezone(zone)).isoformat()
        except OverflowError:
            return field.to_representation(value)
        return shown[:-6] + "Z" if shown.endswith("+00:00") else shown

    return text


def _same_when(kind: type):
    """DRF's str()/int()/float() of a value that already has that type is the value itself."""
    return lambda value: value if type(value) is kind else kind(value)


_SAME_WHEN = {
    serializers.CharField: _same_when(str),
    serializers.EmailField: _same_when(str),
    serializers.URLField: _same_when(str),
    serializers.IntegerField: _same_when(int),
    serializers.FloatField: _same_when(float),
}


class InteractionSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username; null for the system or a visitor."
    )

    class Meta:
        model = Interaction
        fields = ["id", "kind", "occurred_at", "actor", "channel", "subject", "body", "data"]
        read_only_fields = fields


class DuplicateLeadSerializer(serializers.Serializer):
    """The 409 body when a unique value (email or external id) is already taken."""

    detail = serializers.CharField()
    field = serializers.CharField()
    existing_lead = serializers.IntegerField(allow_null=True)


class ScoreExplanationSerializer(serializers.Serializer):
    """GET /api/v1/leads/{id}/score."""

    class Part(serializers.Serializer):
        label = serializers.CharField()
        points = serializers.FloatField()

    class Rule(serializers.Serializer):
        rule = serializers.CharField()
        group = serializers.ChoiceField(choices=["fit", "engagement"])
        points = serializers.FloatField(help_text="After decay and the rule's cap.")

    class Feature(serializers.Serializer):
        label = serializers.CharField()
        weight = serializers.FloatField(help_text="Log-odds contribution.")

    score = serializers.IntegerField()
    grade = serializers.CharField()
    probability = serializers.FloatField(allow_null=True)
    fit_points = serializers.FloatField()
    engagement_points = serializers.FloatField()
    probability_weight = serializers.FloatField()
    rules = Rule(many=True)
    model = Feature(many=True)
    contributions = Part(many=True, help_text="They add up to `score`.")
    scored_at = serializers.DateTimeField(allow_null=True)
