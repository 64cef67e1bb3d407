"""The API's JSON is encoded by orjson (leads.common.safejson.FastJSONRenderer) and reads exactly
as DRF's own JSONRenderer writes it: the same bytes for everything the API answers with."""

import datetime
import json
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from leads.common.safejson import FastJSONRenderer

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")

PAYLOADS = [
    {"count": 3, "next": None, "results": [{"id": 1, "email": "ana@example.com", "score": 81.5, "ok": True}]},
    {"text": "Zoë · Łódź · 東京 · emoji 🎉", "quote": 'say "hi"\n\t\\', "nul": "a\x00b"},
    {"line": "one\u2028two\u2029three"},  # escaped, as DRF does, for JavaScript
    {
        "utc": datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC),
        "zoneinfo_utc": datetime.datetime(2026, 1, 5, 10, 0, 0, 5, tzinfo=zoneinfo.ZoneInfo("UTC")),
        "berlin": datetime.datetime(2026, 7, 5, 10, 0, 0, 123456, tzinfo=BERLIN),
        "naive": datetime.datetime(2026, 1, 5, 10, 0),
        "day": datetime.date(2026, 2, 28),
        "time": datetime.time(9, 30, 15),
    },
    {"amount": Decimal("12.50"), "lazy": gettext_lazy("Select at least one lead."), "id": uuid.UUID(int=7)},
    {"nested": {"a": [1, {"b": None}], "empty": {}, "list": []}, 5: "int key", "generator": (n for n in range(3))},
    {"big": 2**70, "negative": -(2**63)},  # beyond 64 bits: DRF's own rendering
    [],
    "plain",
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_the_bytes_are_drfs(payload):
    def fresh(value):  # a generator is used up by one rendering
        if isinstance(value, dict):
            return {key: fresh(item) for key, item in value.items()}
        return (n for n in range(3)) if hasattr(value, "__next__") else value

    assert FastJSONRenderer().render(fresh(payload)) == JSONRenderer().render(fresh(payload))


def test_a_tiny_float_is_the_same_number():
    payload = {"probability": 1e-7, "score": 1e16}
    ours, drfs = FastJSONRenderer().render(payload), JSONRenderer().render(payload)
    assert json.loads(ours) == json.loads(drfs) == payload
    assert ours == b'{"probability":1e-7,"score":1e+16}'  # DRF writes 1e-07


def test_an_indented_answer_is_drfs():
    payload = {"a": [1, 2], "b": {"c": "d"}}
    indented = FastJSONRenderer().render(payload, "application/json; indent=2")
    assert indented == JSONRenderer().render(payload, "application/json; indent=2")
    assert b"\n  " in indented


def test_nothing_renders_as_nothing():
    assert FastJSONRenderer().render(None) == b""


def test_the_api_answers_through_it(api_as, manager):
    response = api_as(manager).get("/api/v1/leads")
    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, FastJSONRenderer)
    assert response["Content-Type"] == "application/json"
