"""Mappings split a full name, pick the first path with a value, join, set constants and pick list
items by a key's value; admin offers the provider, takes its secrets and shows the URL to paste."""

from html import escape

import pytest

from leads.capture.webhooks import (
    MAPPING_BAD_FIELD,
    MAPPING_BAD_PATH,
    MAPPING_BAD_RULE,
    json_path_get,
    name_split,
    webhook_map,
    webhook_mapping_validate,
)
from leads.capture.webhooks.admin import SECRET_REQUIRED, VERIFY_TOKEN_REQUIRED
from leads.models import WebhookSource
from tests.factories import WebhookSourceFactory

ANSWERS = {
    "answers": [
        {"type": "text", "text": "Ada", "field": {"ref": "first"}},
        {"type": "email", "email": "ada@example.com", "field": {"ref": "mail"}},
        {"type": "text", "text": "Analytical Engines", "field": {"ref": "company"}},
    ],
    "person": {"name": "Lovelace, Ada", "given": "Ada", "family": "Lovelace"},
    "flag": True,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("answers[type=email].email", "ada@example.com"),
        ("answers[field.ref=company].text", "Analytical Engines"),
        ("answers[type=number].number", None),
        ("answers.-1.field.ref", "company"),
        ("person.name", "Lovelace, Ada"),
        ("answers[type=email", None),
        ("answers]", None),
        ("flag.x", None),
        ("answers.99999999999999999999", None),
    ],
)
def test_paths_pick_list_items_by_a_keys_value(path, expected):
    assert json_path_get(ANSWERS, path) == expected


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Dana Whitfield", "Dana", "Whitfield"),
        ("Whitfield, Dana", "Dana", "Whitfield"),
        ("Dr. Ada K. Lovelace", "Ada K.", "Lovelace"),
        ("Cher", "Cher", ""),
        ("José María García López", "José María García", "López"),
    ],
)
def test_a_full_name_splits_as_people_write_it(full, first, last):
    assert name_split(full) == (first, last)


def test_rules_split_pick_join_and_set_constants():
    source = WebhookSource(default_tags=["inbound"])
    mapping = webhook_mapping_validate(
        mapping={
            "full_name": "person.name",
            "email": ["missing.email", "answers[type=email].email"],
            "company": {"join": ["answers[field.ref=company].text", "missing", "person.family"], "sep": " / "},
            "utm_source": {"value": "typeform"},
            "tags": {"value": "demo"},
            "attributes.flag": "flag",
        }
    )
    assert webhook_map(source=source, payload=ANSWERS, mapping=mapping) == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "company": "Analytical Engines / Lovelace",
        "utm_source": "typeform",
        "tags": ["inbound", "demo"],
        "attributes": {"flag": True},
    }


def test_a_mapped_first_name_wins_over_the_split():
    mapping = {"first_name": "person.given", "full_name": "person.name"}
    assert webhook_map(source=WebhookSource(), payload=ANSWERS, mapping=mapping) == {"first_name": "Ada"}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"nickname": "a"}, MAPPING_BAD_FIELD.split(":")[0]),
        ({"email": "a..b"}, MAPPING_BAD_PATH.format(name="email")),
        ({"email": "answers[type=email.email"}, MAPPING_BAD_PATH.format(name="email")),
        ({"email": {"join": "a"}}, MAPPING_BAD_RULE.format(name="email")),
        ({"email": {"value": {"x": 1}}}, MAPPING_BAD_RULE.format(name="email")),
        ({"email": {"first": ["a"], "sep": ","}}, MAPPING_BAD_RULE.format(name="email")),
        ({"email": []}, MAPPING_BAD_RULE.format(name="email")),
        ({"email": 5}, MAPPING_BAD_RULE.format(name="email")),
    ],
)
def test_bad_rules_are_refused_with_a_message(mapping, message):
    with pytest.raises(ValueError, match=None) as error:
        webhook_mapping_validate(mapping=mapping)
    assert str(error.value).startswith(message)


# --- Admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


def form(**fields):
    return {
        "name": "Source",
        "provider": "generic",
        "channel": "",
        "key": "",
        "is_active": "on",
        "team": "",
        "default_tags": "[]",
        "secret": "",
        "verify_token": "",
        "access_token": "",
        "form_ids": "[]",
        "mapping": "{}",
        "event_id_path": "",
        "transcript_path": "",
        **fields,
    }


@pytest.mark.django_db
def test_a_manager_adds_a_typeform_source_by_pasting_its_secret(admin_client, settings):
    url = "/admin/leads/webhooksource/add/"
    refused = admin_client.post(url, form(name="Demo form", provider="typeform", key="demo-form"))
    assert refused.status_code == 200 and escape(SECRET_REQUIRED) in refused.content.decode()
    saved = admin_client.post(url, form(name="Demo form", provider="typeform", key="demo-form", secret="tf-secret"))
    assert saved.status_code == 302
    source = WebhookSource.objects.get(key="demo-form")
    assert (source.provider, source.secret, source.channel) == ("typeform", "tf-secret", WebhookSource.Channel.FORM)
    page = admin_client.get(f"/admin/leads/webhooksource/{source.pk}/change/").content.decode()
    assert f"{settings.PUBLIC_BASE_URL}/api/v1/capture/webhook/demo-form" in page
    assert "Typeform-Signature" in page and "docs/providers/typeform.md" in page
    assert "form_response.answers[type=email].email" in page  # the default mapping, to copy


@pytest.mark.django_db
def test_a_meta_source_needs_a_verify_token_and_keeps_its_access_token(admin_client):
    url = "/admin/leads/webhooksource/add/"
    fields = form(name="FB", provider="meta", key="fb", secret="app-secret", access_token="EAAB")
    assert escape(VERIFY_TOKEN_REQUIRED) in admin_client.post(url, fields).content.decode()
    assert admin_client.post(url, {**fields, "verify_token": "vt-123"}).status_code == 302
    source = WebhookSource.objects.get(key="fb")
    assert (source.access_token, source.channel) == ("EAAB", WebhookSource.Channel.ADS)
    page = admin_client.get(f"/admin/leads/webhooksource/{source.pk}/change/").content.decode()
    assert "EAAB" not in page  # a token is written, never shown again
    change = admin_client.post(
        f"/admin/leads/webhooksource/{source.pk}/change/", {**fields, "verify_token": "vt-123", "access_token": ""}
    )
    assert change.status_code == 302
    source.refresh_from_db()
    assert source.access_token == "EAAB" and source.secret == "app-secret"


@pytest.mark.django_db
def test_a_generic_source_still_gets_a_generated_secret(admin_client):
    assert admin_client.post("/admin/leads/webhooksource/add/", form(name="Own tool", key="own")).status_code == 302
    assert len(WebhookSource.objects.get(key="own").secret) >= 32


@pytest.mark.django_db
def test_the_source_list_costs_the_same_queries_for_one_or_many(admin_client, django_assert_max_num_queries):
    for index in range(12):
        WebhookSourceFactory(name=f"S{index}", provider="zoom", secret="s")
    with django_assert_max_num_queries(12):
        assert admin_client.get("/admin/leads/webhooksource/").status_code == 200
