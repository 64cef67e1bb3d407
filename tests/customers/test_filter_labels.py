"""Filter panels are labelled as a person would label them, on every FilterSet shown in HTML."""

import re

import pytest

from customers.filters import CustomerFilter
from leads.filters import LeadFilter

pytestmark = pytest.mark.django_db

MACHINE_WORDS = (
    "[invalid name]",
    "is greater than",
    "is less than",
    "prefix - for descending",
    "Ordering",
    "created_at",
)


def _labels(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>|\s+", " ", label).strip() for label in re.findall(r"<label[^>]*>(.*?)</label>", html, re.S)
    ]


@pytest.mark.parametrize("filterset", [LeadFilter, CustomerFilter])
def test_every_filter_states_its_label(filterset):
    """A method filter was labelled "[invalid name]" and a lookup "Created at is greater than or equal to"."""
    form = filterset({}).form
    for name, field in form.fields.items():
        assert filterset.base_filters[name]._label, name  # stated, not derived from the field name
        assert not any(word in str(field.label) for word in MACHINE_WORDS), (name, field.label)
        assert field.help_text == ""  # the help texts document the API parameters, not the form
    ordering = [str(label) for _value, label in form.fields["ordering"].choices]
    assert "Customer since (descending)" in ordering or "Created (descending)" in ordering


@pytest.mark.parametrize("url", ["/customers/", "/"])
def test_the_list_pages_show_human_labels(client, manager, url):
    """The customer list showed "[invalid name]" and "Ordering: created_at, name or updated_at; …"."""
    client.force_login(manager)
    body = client.get(url).content.decode()
    labels = _labels(body)
    assert "Search" in labels and "Sort by" in labels
    for word in MACHINE_WORDS:
        assert word not in " ".join(labels)
    assert "prefix - for descending" not in body and "[invalid name]" not in body


def test_the_api_schema_still_documents_the_parameters(api_as, manager):
    schema = api_as(manager).get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").content.decode()
    assert "prefix - for descending" in schema
