"""Paid enrichment API (network, optional): a Clearbit-style JSON lookup by email address.

GET {ENRICHMENT_API_URL}?email=<address> with `Authorization: Bearer {ENRICHMENT_API_KEY}`; off
unless both are set. The answer may be a combined {"person": …, "company": …} document or a bare
person. 404 (nobody known) and 401/403 (bad key) give no suggestions; 429, 5xx, 202 (lookup queued)
and timeouts raise TransientProviderError so the caller can ask again later.
See docs/enrichment-network.md."""

import json
import logging
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from ...common.safe_http import (
    DEFAULT_PORTS,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    Limits,
    TransientProviderError,
    UnsafeURL,
    url_fetch,
)
from .base import LeadFacts, Provider, Suggestion
from .website import country_code

logger = logging.getLogger(__name__)

DETAIL = "from enrichment API"
LIMITS = Limits(
    connect_timeout=3.0,
    read_timeout=5.0,
    total_timeout=8.0,
    max_bytes=256 * 1024,
    max_redirects=2,
    content_types=("application/json",),
)
API_BUSY = "The enrichment API is busy or failing (HTTP {status}); try again later."
API_PENDING = "The enrichment API queued the lookup (HTTP 202); try again later."
API_TIMEOUT = "The enrichment API did not answer in time."
API_UNREACHABLE = "The enrichment API could not be reached."
MAX_LENGTH = {"first_name": 150, "last_name": 150, "company": 200, "industry": 100, "city": 100, "region": 100}

# Lead.CompanySize buckets by their lower bound (leads/models/core.py).
SIZE_BUCKETS = (
    (5001, "5001+"),
    (1001, "1001-5000"),
    (501, "501-1000"),
    (201, "201-500"),
    (51, "51-200"),
    (11, "11-50"),
    (1, "1-10"),
)


def company_size_bucket(employees: Any) -> str:
    """Lead.CompanySize for a head count (250 → '201-500'), or for a range like '251-1K' (by its
    lower end); '' if it is neither."""
    if isinstance(employees, bool):
        return ""
    if isinstance(employees, int | float):
        count = int(employees)
    else:
        match = re.match(r"\s*(\d+(?:\.\d+)?)\s*([kK])?", str(employees or ""))
        if not match:
            return ""
        count = int(float(match.group(1)) * (1000 if match.group(2) else 1))
    return next((bucket for low, bucket in SIZE_BUCKETS if count >= low), "")


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _str(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def lookup_url(*, base: str, email: str) -> str:
    """The lookup URL: the configured endpoint with ?email= (or &email= if it has a query)."""
    return f"{base}{'&' if '?' in base else '?'}{urlencode({'email': email})}"


def api_suggestions(data: Any) -> list[Suggestion]:
    """Map a Clearbit-style answer to suggestions (person first: where the lead is, not the HQ)."""
    if not isinstance(data, dict):
        return []
    person = data.get("person") if "person" in data or "company" in data else data
    person = person if isinstance(person, dict) else {}
    company = data.get("company") if isinstance(data.get("company"), dict) else {}
    out: dict[str, Suggestion] = {}

    def add(name: str, value: Any, confidence: float) -> None:
        if isinstance(value, str):
            value = value.strip()[: MAX_LENGTH.get(name, 500)].strip()
        if value and name not in out:
            out[name] = Suggestion(name, value, confidence, DETAIL)

    add("first_name", _str(_get(person, "name", "givenName")), 0.8)
    add("last_name", _str(_get(person, "name", "familyName")), 0.8)
    add("job_title", _str(_get(person, "employment", "title")), 0.8)
    add("company", _str(company.get("name")) or _str(_get(person, "employment", "name")), 0.8)
    domain = _str(company.get("domain")) or _str(_get(person, "employment", "domain"))
    if domain and re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", domain.lower()):
        add("website", f"https://{domain.lower()}", 0.7)
    add("industry", _str(_get(company, "category", "industry")) or _str(_get(company, "category", "sector")), 0.7)
    employees = _get(company, "metrics", "employees")
    add("company_size", company_size_bucket(employees), 0.8)
    add("company_size", company_size_bucket(_get(company, "metrics", "employeesRange")), 0.6)
    for geo in (person.get("geo"), company.get("geo")):
        if isinstance(geo, dict):
            add("city", _str(geo.get("city")), 0.7)
            add("region", _str(geo.get("state")), 0.7)
            add("country", country_code(geo.get("countryCode") or geo.get("country")), 0.7)
    return list(out.values())


class PaidApiProvider(Provider):
    name = "paid_api"
    fills = (
        "first_name",
        "last_name",
        "job_title",
        "company",
        "website",
        "industry",
        "company_size",
        "city",
        "region",
        "country",
    )
    needs = ("email",)
    network = True

    def __init__(self, *, limits: Limits = LIMITS):
        self.limits = limits

    @staticmethod
    def configured() -> bool:
        return bool(settings.ENRICHMENT_API_URL and settings.ENRICHMENT_API_KEY)

    def applicable(self, facts: LeadFacts) -> bool:
        """Only with an API URL and key, for a lead with an email address."""
        return self.configured() and bool(facts.get("email"))

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        email = str(facts.get("email")).strip()
        if not self.configured() or not email:
            return []
        base = settings.ENRICHMENT_API_URL
        domain = email.rsplit("@", 1)[-1]  # logs name the domain, not the person
        try:
            parts = urlsplit(base)
            # The operator chose this host: it may be private (an in-house service), its redirects may not.
            host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else (parts.hostname or "")
            own_host = [f"{host}:{parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 443)}"]
        except ValueError:
            logger.error("enrichment API: ENRICHMENT_API_URL is malformed")
            return []
        try:
            result = url_fetch(
                url=lookup_url(base=base, email=email),
                limits=self.limits,
                allow=own_host,
                headers={"Authorization": f"Bearer {settings.ENRICHMENT_API_KEY}", "Accept": "application/json"},
            )
        except HTTPStatusError as exc:
            if exc.status == 404:
                logger.info("enrichment API: nobody known for an address at %s", domain)
                return []
            if exc.status in (401, 403):
                logger.error("enrichment API refused the key (HTTP %s): check ENRICHMENT_API_KEY", exc.status)
                return []
            if exc.status == 429 or exc.status >= 500:
                logger.warning("enrichment API busy (HTTP %s) for an address at %s", exc.status, domain)
                raise TransientProviderError(API_BUSY.format(status=exc.status), retry_after=exc.retry_after) from exc
            logger.warning("enrichment API answered HTTP %s for an address at %s", exc.status, domain)
            return []
        except FetchTimeout as exc:
            logger.warning("enrichment API timed out for an address at %s", domain)
            raise TransientProviderError(API_TIMEOUT) from exc
        except UnsafeURL as exc:
            logger.error("enrichment API: %s (ENRICHMENT_API_URL or its redirect)", exc)
            return []
        except FetchError as exc:
            logger.warning("enrichment API unreachable: %s", exc)
            raise TransientProviderError(API_UNREACHABLE) from exc
        if result.status == 202:
            raise TransientProviderError(API_PENDING)
        if result.truncated:
            logger.warning("enrichment API answer over %d bytes: ignored", self.limits.max_bytes)
            return []
        try:
            data = json.loads(result.body)
        except ValueError:
            logger.warning("enrichment API answered with invalid JSON for an address at %s", domain)
            return []
        return api_suggestions(data)
