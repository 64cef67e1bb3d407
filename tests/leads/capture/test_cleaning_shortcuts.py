"""The capture cleaning's shortcuts answer exactly as the checks they stand in for: a website the
plain-address pattern accepts is one Django's URLValidator accepts, whatever the text, and a
country resolved once from the cache is the country resolved from the list."""

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.capture.cleaning import _PLAIN_URL, INVALID_COUNTRY, capture_clean

DJANGO = URLValidator(schemes=["http", "https"])

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_.é", min_size=0, max_size=70)


def django_accepts(url: str) -> bool:
    try:
        DJANGO(url)
    except ValidationError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(
    scheme=st.sampled_from(["http://", "https://", "ftp://", "https:/", ""]),
    labels=st.lists(LABEL, min_size=1, max_size=4),
    tail=st.sampled_from(["", "/", "/pricing?a=1", "#top", " x", "/a b", ":8080"]),
)
def test_every_address_the_shortcut_accepts_django_accepts(scheme, labels, tail):
    url = scheme + ".".join(labels) + tail
    if _PLAIN_URL.fullmatch(url):
        assert django_accepts(url), url


@pytest.mark.parametrize(
    ("website", "stored"),
    [
        ("www.acme-tools.com", "https://www.acme-tools.com"),
        ("https://shop.example.co.uk/en?ref=ad", "https://shop.example.co.uk/en?ref=ad"),
        ("http://xn--bcher-kva.example", "http://xn--bcher-kva.example"),  # the validator's own path
    ],
)
def test_a_website_is_stored_as_before(website, stored):
    cleaned, errors = capture_clean({"website": website, "email": "a@b.example"}, strict=True)
    assert (cleaned["website"], errors) == (stored, {})


@pytest.mark.parametrize("website", ["https://-acme.com", "https://acme", "https://ac me.com", "https://acme.c0m"])
def test_a_bad_website_still_gets_the_validators_message(website):
    _, errors = capture_clean({"website": website, "email": "a@b.example"}, strict=True)
    assert errors == {"website": ["Enter a valid URL."]}


def test_countries_answer_the_same_from_the_cache():
    for _ in range(2):  # the second time from the cache
        assert capture_clean({"country": "Germany", "email": "a@b.example"}, strict=True)[0]["country"] == "DE"
        assert capture_clean({"country": "de", "email": "a@b.example"}, strict=True)[0]["country"] == "DE"
        _, errors = capture_clean({"country": "Atlantis", "email": "a@b.example"}, strict=True)
        assert errors == {"country": [INVALID_COUNTRY]}
