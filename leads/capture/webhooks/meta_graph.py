"""Meta's Graph API, read through the SSRF-safe fetcher: one lead by its leadgen id, and a form's
leads since a time (the backfill). The base URL and version are settings (META_GRAPH_BASE_URL,
META_GRAPH_VERSION), so tests point them at a local stub; META_GRAPH_ALLOW lists hosts the SSRF
rules would refuse (the stub on 127.0.0.1), empty in production.

GET {base}/{version}/{leadgen_id}?fields=…&access_token=… answers
{"id", "created_time", "field_data": [{"name", "values": [...]}], "ad_id", "form_id", "campaign_id", …}
(https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving)."""

import json
import logging
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings

from ...common.safe_http import FetchError, FetchTimeout, HTTPStatusError, Limits, url_fetch

logger = logging.getLogger(__name__)

GRAPH_UNAVAILABLE = "Meta's Graph API did not answer; the lead is fetched again on Meta's retry or by the backfill."
GRAPH_REFUSED = "Meta's Graph API refused to give lead {leadgen_id}: {reason}. Check the page access token."
GRAPH_BAD_ANSWER = "Meta's Graph API answered something that is not a lead."
NO_ACCESS_TOKEN = "This Meta source has no page access token: the lead cannot be fetched."
LEAD_FIELDS = (
    "id,created_time,field_data,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,form_id,"
    "platform,is_organic,partner_name"
)
LIMITS = Limits(
    connect_timeout=3.0,
    read_timeout=5.0,
    total_timeout=8.0,
    max_bytes=2 * 1024 * 1024,
    max_redirects=0,
    content_types=("application/json", "text/javascript"),
)
MAX_PAGES = 50


class GraphUnavailable(Exception):
    """The Graph API is down, slow or limiting us: worth asking again later."""


class GraphRefused(Exception):
    """The Graph API said no (a bad token, a deleted lead): asking again will not help."""


def graph_base() -> str:
    return getattr(settings, "META_GRAPH_BASE_URL", "https://graph.facebook.com").rstrip("/")


def graph_version() -> str:
    return getattr(settings, "META_GRAPH_VERSION", "v22.0").strip("/")


def _get(url: str) -> dict:
    try:
        result = url_fetch(url=url, limits=LIMITS, allow=tuple(getattr(settings, "META_GRAPH_ALLOW", [])))
    except HTTPStatusError as exc:
        if exc.status == 429 or exc.status >= 500:
            raise GraphUnavailable(str(exc)) from exc
        raise GraphRefused(str(exc)) from exc
    except FetchTimeout as exc:
        raise GraphUnavailable(str(exc)) from exc
    except FetchError as exc:
        raise GraphUnavailable(str(exc)) from exc
    if result.truncated:
        raise GraphRefused(GRAPH_BAD_ANSWER)
    try:
        answer = json.loads(result.body.decode(result.charset or "utf-8", "replace"))
    except ValueError as exc:
        raise GraphRefused(GRAPH_BAD_ANSWER) from exc
    if not isinstance(answer, dict):
        raise GraphRefused(GRAPH_BAD_ANSWER)
    return answer


def _node_url(node: str, **params: str) -> str:
    # quote(safe=""): an id from a webhook body can never add a path segment or a query.
    return f"{graph_base()}/{graph_version()}/{quote(node, safe='')}?{urlencode(params)}"


def meta_lead_fetch(*, access_token: str, leadgen_id: str) -> dict:
    """One lead from the Graph API; GraphUnavailable (retry later) or GraphRefused (will not work)."""
    if not access_token:
        raise GraphRefused(NO_ACCESS_TOKEN)
    lead = _get(_node_url(leadgen_id, fields=LEAD_FIELDS, access_token=access_token))
    if not isinstance(lead.get("field_data"), list):
        raise GraphRefused(GRAPH_BAD_ANSWER)
    return lead


def meta_form_leads(*, access_token: str, form_id: str, since: int) -> list[dict]:
    """Every lead of a form created after `since` (epoch seconds), following the paging links while
    they stay on the Graph API's own origin."""
    if not access_token:
        raise GraphRefused(NO_ACCESS_TOKEN)
    filtering = json.dumps([{"field": "time_created", "operator": "GREATER_THAN", "value": since}])
    params = urlencode({"fields": LEAD_FIELDS, "filtering": filtering, "limit": "100", "access_token": access_token})
    url = f"{graph_base()}/{graph_version()}/{quote(form_id, safe='')}/leads?{params}"
    origin = urlsplit(graph_base())[:2]
    leads: list[dict] = []
    for _page in range(MAX_PAGES):
        answer = _get(url)
        leads.extend(lead for lead in answer.get("data") or [] if isinstance(lead, dict))
        following = (answer.get("paging") or {}).get("next") if isinstance(answer.get("paging"), dict) else None
        if not isinstance(following, str) or urlsplit(following)[:2] != origin:
            break
        url = following
    return leads


def meta_lead_flatten(*, lead: dict, change: dict | None = None) -> dict:
    """A Graph lead (and the webhook's change, when there was one) as the JSON the mapping reads:
    ids at the top, each question's answer under fields.<name> (several values joined)."""
    change = change or {}
    fields = {}
    for item in lead.get("field_data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        values = [str(value) for value in item.get("values") or [] if isinstance(value, (str, int, float))]
        fields[item["name"]] = values[0] if len(values) == 1 else ", ".join(values)
    flat = {
        "leadgen_id": str(lead.get("id") or change.get("leadgen_id") or ""),
        "created_time": lead.get("created_time") or change.get("created_time"),
        "page_id": change.get("page_id"),
        "form_id": lead.get("form_id") or change.get("form_id"),
        "ad_id": lead.get("ad_id") or change.get("ad_id"),
        "adgroup_id": change.get("adgroup_id"),
        "fields": fields,
    }
    for name in (
        "ad_name",
        "adset_id",
        "adset_name",
        "campaign_id",
        "campaign_name",
        "platform",
        "is_organic",
        "partner_name",
    ):
        if lead.get(name) not in (None, ""):
            flat[name] = lead[name]
    return {name: value for name, value in flat.items() if value not in (None, "")}
