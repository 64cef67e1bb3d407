"""A built two-step form and helpers to post to it as the embed script does (JSON)."""

import json
import time

import pytest
from django.core import signing
from django.core.cache import cache

from leads.capture.forms_builder.schema import schema_clean
from leads.capture.webforms import _SALT
from leads.models import WebForm
from tests.factories import WebFormFactory

LAYOUT = {
    "columns": 2,
    "steps": [
        {
            "title": "About you",
            "items": [
                {"type": "email", "name": "email", "label": "Work email", "required": True},
                {"type": "text", "name": "first_name", "label": "First name", "width": "half"},
                {"type": "text", "name": "company", "label": "Company", "required": True, "width": "half"},
                {"type": "hidden", "name": "utm_source", "source": "query:utm_source"},
                {"type": "hidden", "name": "campaign_id", "source": "query:campaign_id"},
            ],
        },
        {
            "title": "Your project",
            "items": [
                {"type": "section", "heading": "Budget"},
                {
                    "type": "select",
                    "name": "budget",
                    "label": "Budget",
                    "required": True,
                    "choices": ["< 10k", "10k-50k", "> 50k"],
                    "display": "dropdown",
                },
                {
                    "type": "text",
                    "name": "procurement_contact",
                    "label": "Procurement contact",
                    "required": True,
                    "condition": {"field": "budget", "op": "equals", "value": "> 50k"},
                },
                {"type": "number", "name": "seats", "label": "Seats", "validation": {"min": 1, "max": 500}},
                {"type": "multi", "name": "interests", "label": "Interests", "choices": ["Email", "Phone", "Chat"]},
                {"type": "text", "name": "po_number", "label": "PO", "validation": {"pattern": "PO-[0-9]{4}"}},
            ],
        },
    ],
    "progressive": True,
    "queue": [
        {
            "type": "select",
            "name": "timeline",
            "label": "When do you start?",
            "choices": ["Now", "Later"],
            "required": True,
        },
        {"type": "text", "name": "job_title", "label": "Job title"},
    ],
    "consents": [
        {"text": "Email me product news.", "purpose": "email_marketing", "basis": "consent"},
        {"text": "You may call me about my request.", "purpose": "phone_contact", "basis": "legitimate_interest"},
    ],
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # rate-limit counters live in the (Redis) cache
    yield
    cache.clear()


@pytest.fixture
def built_form(db):
    schema, errors = schema_clean(json.loads(json.dumps(LAYOUT)))
    assert not errors, errors
    return WebFormFactory(
        name="Demo request",
        key="demo",
        schema=schema,
        fields=[],
        required_fields=[],
        allowed_hosts=["www.example.com"],
        rate_limit="50/m",
        min_fill_seconds=2,
        is_active=True,
    )


def stamp(form: WebForm, age: float = 10.0) -> str:
    return signing.dumps({"k": form.key, "t": time.time() - age}, salt=_SALT, compress=True)


def post_json(client, form: WebForm, data: dict, **headers):
    body = {"_ts": stamp(form), **data}
    return client.post(
        f"/f/{form.key}", json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json", **headers
    )


FULL = {
    "email": "ada@example.org",
    "first_name": "Ada",
    "company": "Analytical",
    "utm_source": "linkedin",
    "campaign_id": "c-42",
    "budget": "10k-50k",
    "seats": "12",
    "interests": ["Email", "Chat"],
    "consent_1": True,
    "consent_2": True,
    "visitor_id": "",
    "landing_page": "https://www.example.com/demo",
}
