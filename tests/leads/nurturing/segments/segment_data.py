"""A varied set of leads for the segment tests, and a plain-Python evaluation of a definition to
check the SQL against (written from the documented meaning, not from the compiler)."""

import json
import random
import re
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from leads.models import Interaction, Lead, PageView, Segment, SegmentMember
from tests.factories import InteractionFactory, LeadFactory, PageViewFactory, TrackingSiteFactory, VisitorFactory

COMPANIES = ["Acme Inc", "acme labs", "Globex", "", "Initech Inc", "Umbrella", "ACME"]
CITIES = ["Lyon", "Paris", "", "lyon", "Berlin"]
URLS = [
    "https://shop.example.com/pricing",
    "https://shop.example.com/blog/pricing-tips",
    "https://shop.example.com/about",
    "https://shop.example.com/pricing?plan=pro",
    "https://shop.example.com/100%_off",
]
ATTRIBUTES = [{}, {"visits": 35}, {"plan": "Pro"}, {"plan": "pro-max", "visits": 7}, {"flag": True}, {"plan": None}]
TAGS = [[], ["vip"], ["vip", "webinar"], ["webinar"], ["VIP"]]


def build_dataset(*, owners, teams, seed: int = 7, size: int = 48) -> list[Lead]:
    """`size` leads whose fields, custom attributes, tags, owners, dates and engagement vary."""
    rng = random.Random(seed)
    now = timezone.now()
    site = TrackingSiteFactory(name="Shop", allowed_hosts=["shop.example.com"])
    leads = []
    for n in range(size):
        lead = LeadFactory(
            company=rng.choice(COMPANIES),
            city=rng.choice(CITIES),
            email=rng.choice([f"lead{n}@example-corp.com", f"lead{n}@gmail.com"]),
            job_title=rng.choice(["CTO", "Head of Marketing", "", "marketing intern"]),
            status=rng.choice(["new", "active", "nurturing", "qualified"]),
            source=rng.choice(Lead.Source.values),
            grade=rng.choice(["", "A", "B", "C", "D"]),
            score=rng.randint(0, 100),
            probability=rng.choice([None, 0.1, 0.5, 0.9]),
            country=rng.choice(["", "FR", "DE", "US"]),
            owner=rng.choice([None, *owners]),
            team=rng.choice([None, *teams]),
            tags=list(rng.choice(TAGS)),
            attributes=dict(rng.choice(ATTRIBUTES)),
            email_opt_in=rng.random() < 0.5,
            page_views_30d=rng.randint(0, 20),
            last_activity_at=rng.choice([None, now - timedelta(days=rng.randint(0, 90), hours=3)]),
        )
        # created_at has a default, so set it after creation (whole days and some hours back).
        Lead.objects.filter(pk=lead.pk).update(
            created_at=now - timedelta(days=rng.randint(0, 400), hours=rng.randint(1, 20))
        )
        for kind in (Interaction.Kind.EMAIL_OPENED, Interaction.Kind.EMAIL_CLICKED, Interaction.Kind.EMAIL_IN):
            if rng.random() < 0.35:
                InteractionFactory(lead=lead, kind=kind, occurred_at=now - timedelta(days=rng.randint(0, 60), hours=2))
        if rng.random() < 0.5:
            visitor = VisitorFactory(site=site, visitor_key=f"v{n}", lead=lead)
            for _ in range(rng.randint(1, 3)):
                PageViewFactory(
                    site=site,
                    visitor=visitor,
                    url=rng.choice(URLS),
                    occurred_at=now - timedelta(days=rng.randint(0, 60), hours=2),
                )
        leads.append(lead)
    return list(Lead.objects.order_by("pk"))


# --- Plain Python ------------------------------------------------------------------------------------


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _day_start(text: str) -> datetime:
    return timezone.make_aware(datetime.combine(date.fromisoformat(text), time.min))


class PythonSegment:
    """Evaluates a definition lead by lead in Python (the tests' reference)."""

    def __init__(self, now: datetime):
        self.now = now
        self.events = {}
        for lead_id, kind, occurred_at in Interaction.objects.values_list("lead_id", "kind", "occurred_at"):
            self.events.setdefault(lead_id, []).append((kind, occurred_at))
        self.views = {}
        for lead_id, url, occurred_at in PageView.objects.values_list("visitor__lead_id", "url", "occurred_at"):
            self.views.setdefault(lead_id, []).append((url, occurred_at))
        self.members = {}
        for segment_id, lead_id in SegmentMember.objects.values_list("segment_id", "lead_id"):
            self.members.setdefault(segment_id, set()).add(lead_id)

    def matches(self, lead: Lead, node: dict) -> bool:
        if "conditions" in node:
            results = [self.matches(lead, child) for child in node["conditions"]]
            return any(results) if node.get("match") == "any" else all(results)
        return self.condition(lead, node)

    def condition(self, lead: Lead, c: dict) -> bool:  # noqa: C901 (one branch per kind, on purpose)
        name, op, value = c["field"], c["op"], c.get("value")
        if name in ("visited_url", "opened_email", "clicked_email", "replied"):
            since = self.now - timedelta(days=int(c["days"]))
            if name == "visited_url":
                pattern = re.compile(re.escape(value).replace(r"\*", ".*"), re.IGNORECASE | re.DOTALL)
                hit = any(occurred >= since and pattern.fullmatch(url) for url, occurred in self.views.get(lead.pk, []))
            else:
                kind = {"opened_email": "email_opened", "clicked_email": "email_clicked", "replied": "email_in"}[name]
                hit = any(k == kind and occurred >= since for k, occurred in self.events.get(lead.pk, []))
            return hit if op == "in_last_days" else not hit
        if name == "segment":
            segment = Segment.objects.get(pk=value)
            inside = (
                lead.pk in self.members.get(segment.pk, set())
                if segment.kind == "static"
                else self.matches(lead, segment.definition)
            )
            return inside if op == "in" else not inside
        if name == "attribute":
            key = c["key"]
            if op == "exists":
                return key in lead.attributes
            if op == "not_exists":
                return key not in lead.attributes
            current = lead.attributes.get(key)
            if current is None:
                return False
            text = _text(current).upper()
            return text == str(value).upper() if op == "equals" else str(value).upper() in text
        if name == "tags":
            return (value in lead.tags) == (op == "contains")
        if name in ("owner", "team"):
            special = "unassigned" if name == "owner" else "none"
            current = getattr(lead, f"{name}_id")
            inside = (current is None and special in value) or (current is not None and current in value)
            return inside if op == "in" else not inside
        current = getattr(lead, name)
        if op in ("is_true", "is_false"):
            return current is (op == "is_true")
        if op == "in":
            return str(current) in value
        if op == "not_in":
            return str(current) not in value
        if op == "is_empty":
            return current in ("", None)
        if op == "is_not_empty":
            return current not in ("", None)
        if isinstance(current, str):
            text, wanted = current.upper(), str(value).upper()
            return {
                "equals": text == wanted,
                "not_equals": text != wanted,
                "contains": wanted in text,
                "not_contains": wanted not in text,
                "starts_with": text.startswith(wanted),
            }[op]
        if current is None:
            return False
        if isinstance(current, datetime):
            if op == "before":
                return current < _day_start(value)
            if op == "after":
                return current >= _day_start(value) + timedelta(days=1)
            since = self.now - timedelta(days=int(c["days"]))
            return current >= since if op == "within_last_days" else current < since
        return {
            "eq": current == value,
            "ne": current != value,
            "gt": current > value,
            "gte": current >= value,
            "lt": current < value,
            "lte": current <= value,
        }[op]

    def ids(self, leads: list[Lead], definition: dict) -> set[int]:
        return {lead.pk for lead in leads if self.matches(lead, definition)}
