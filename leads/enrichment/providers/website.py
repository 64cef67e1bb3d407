"""Company website (network): fetch the home page of the lead's website, or of a corporate email's
registered domain, through the SSRF-safe fetcher, and read what the company says about itself:
its name, description, social profiles, and the schema.org JSON-LD facts (phone, address, industry).
See docs/enrichment-network.md."""

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup
from django.conf import settings
from django_countries import countries

from ...common.normalize import normalize_phone
from ...common.safe_http import FetchError, Limits, url_fetch
from .base import LeadFacts, Provider, Suggestion
from .email import email_kind, registered_domain

logger = logging.getLogger(__name__)

DETAIL = "from company website"
LIMITS = Limits(
    connect_timeout=3.0,
    read_timeout=5.0,
    total_timeout=10.0,
    max_bytes=1024 * 1024,
    max_redirects=4,
    content_types=("text/html", "application/xhtml+xml"),
)
# Lead column sizes (leads/models/core.py): a suggestion never has to be cut by the database.
MAX_LENGTH = {"company": 200, "industry": 100, "city": 100, "region": 100, "postal_code": 20}
MAX_DESCRIPTION = 500

# schema.org types that describe the company itself. LocalBusiness alone has hundreds of subtypes
# (Dentist, AutoRepair…), hence the suffix rule as well.
ORG_TYPES = frozenset(
    {
        "organization",
        "corporation",
        "localbusiness",
        "onlinebusiness",
        "onlinestore",
        "store",
        "ngo",
        "professionalservice",
        "restaurant",
        "hotel",
        "airline",
        "consortium",
        "library",
        "dentist",
        "physician",
        "attorney",
        "bank",
        "autodealer",
        "realestateagent",
        "travelagency",
        "insuranceagency",
    }
)
ORG_SUFFIXES = ("organization", "business", "store", "service", "agency")
GENERIC_TYPES = frozenset({"organization", "corporation", "localbusiness", "onlinebusiness", "thing"})
UK_ALIASES = {"UK": "GB", "UNITED KINGDOM": "GB", "ENGLAND": "GB", "SCOTLAND": "GB", "WALES": "GB"}

LINKEDIN = re.compile(r"https?://(?:[a-z]{2,3}\.)?linkedin\.com/(company|in|school|showcase)/([^/?#\s]+)", re.I)
TWITTER = re.compile(r"https?://(?:www\.|mobile\.)?(twitter|x)\.com/([A-Za-z0-9_]{1,15})/?(?:[?#]|$)", re.I)
FACEBOOK = re.compile(
    r"https?://(?:www\.|m\.|[a-z]{2}-[a-z]{2}\.)?facebook\.com/([A-Za-z0-9.\-]{2,})/?(?:[?#]|$)", re.I
)
# Paths on those sites that are buttons (share, log in), not a company's profile.
TWITTER_NOT_PROFILES = frozenset(
    {"intent", "share", "home", "search", "hashtag", "i", "login", "signup", "explore", "settings"}
)
FACEBOOK_NOT_PROFILES = frozenset(
    {
        "sharer",
        "sharer.php",
        "share.php",
        "dialog",
        "plugins",
        "login",
        "login.php",
        "home.php",
        "profile.php",
        "pages",
        "groups",
    }
)
TITLE_SEPARATORS = re.compile(r"\s+[|\-–—·:»]\s+")


@dataclass
class PageFacts:
    """What a home page says about its company (all optional)."""

    title: str = ""
    description: str = ""
    site_name: str = ""
    org: dict[str, Any] = field(default_factory=dict)  # the best schema.org Organization node
    links: list[str] = field(default_factory=list)  # hrefs and JSON-LD sameAs, absolute, in page order
    phones: list[str] = field(default_factory=list)  # from tel: links


def home_page_url(facts: LeadFacts) -> str:
    """The home page to read: the lead's website, else https://<registered domain> of a corporate
    email ('' when there is neither, or the email is free mail or disposable)."""
    website = str(facts.get("website")).strip()
    if website:
        if "://" not in website:
            website = "https://" + website
        try:
            parts = urlsplit(website)
        except ValueError:
            return ""
        return f"{parts.scheme}://{parts.netloc}/" if parts.scheme in ("http", "https") and parts.netloc else ""
    email = str(facts.get("email")).strip().lower()
    if "@" not in email:
        return ""
    domain = email.rsplit("@", 1)[1].rstrip(".")
    registered = registered_domain(domain)
    if not registered or email_kind(domain) != "corporate" or email_kind(registered) != "corporate":
        return ""
    return f"https://{registered}/"


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = next((item for item in value if item), "")
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    return " ".join(str(value).split()) if isinstance(value, str | int | float) else ""


def _types(node: dict) -> list[str]:
    raw = node.get("@type") or []
    raw = raw if isinstance(raw, list) else [raw]
    # "Organization", "schema:Organization" and "https://schema.org/Organization" are one type.
    return [re.split(r"[/:#]", str(item))[-1].lower() for item in raw if item]


def _is_org(node: dict) -> bool:
    return any(kind in ORG_TYPES or kind.endswith(ORG_SUFFIXES) for kind in _types(node))


def _nodes(data: Any, depth: int = 0) -> Iterator[dict]:
    """Every object in a JSON-LD document, breadth first (top-level ones, @graph members, then nested)."""
    if depth > 6:
        return
    items = data if isinstance(data, list) else [data]
    nested = []
    for item in items:
        if isinstance(item, dict):
            yield item
            nested.extend(value for key, value in item.items() if isinstance(value, dict | list) and key != "address")
    for value in nested:
        yield from _nodes(value, depth + 1)


def _json_ld(soup: BeautifulSoup) -> list[Any]:
    documents = []
    for script in soup.find_all("script"):
        if (script.get("type") or "").split(";")[0].strip().lower() != "application/ld+json":
            continue
        text = (script.string or script.get_text() or "").strip()
        text = re.sub(r"^\s*(?:<!--|<!\[CDATA\[)|(?:-->|\]\]>)\s*$", "", text)
        try:
            documents.append(json.loads(text, strict=False))
        except ValueError:  # broken JSON-LD is common; the rest of the page still counts
            continue
    return documents


def page_read(*, html: bytes, charset: str | None, base_url: str) -> PageFacts:
    """Read a home page's title, meta and Open Graph tags, links and schema.org organisation."""
    soup = BeautifulSoup(html, "html.parser", from_encoding=charset)
    page = PageFacts()
    if soup.title and soup.title.string:
        page.title = " ".join(soup.title.string.split())
    meta: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = (tag.get("property") or tag.get("name") or "").strip().lower()
        content = " ".join((tag.get("content") or "").split())
        if key and content and key not in meta:
            meta[key] = content
    page.site_name = meta.get("og:site_name", "")
    page.description = meta.get("description") or meta.get("og:description") or ""
    if meta.get("twitter:site", "").startswith("@"):
        page.links.append(f"https://twitter.com/{meta['twitter:site'][1:]}")
    orgs = [node for document in _json_ld(soup) for node in _nodes(document) if _is_org(node)]
    if orgs:
        # The node that says the most about the company (ties: the first one on the page).
        page.org = max(
            orgs, key=lambda node: sum(1 for key in ("name", "telephone", "address", "industry") if node.get(key))
        )
        same_as = page.org.get("sameAs") or []
        page.links.extend(
            str(url) for url in (same_as if isinstance(same_as, list) else [same_as]) if isinstance(url, str)
        )
        if not page.description:
            page.description = _text(page.org.get("description"))
    for anchor in soup.find_all("a", href=True):
        href = anchor["href"].strip()
        if href.lower().startswith("tel:"):
            page.phones.append(href[4:])
        elif href.lower().startswith(("http://", "https://", "//")):
            page.links.append(urljoin(base_url, href))
    return page


def social_profiles(links: list[str]) -> dict[str, str]:
    """attributes.<network>_url → the first profile link per network (a LinkedIn company page
    before a person's)."""
    found: dict[str, str] = {}
    people: list[str] = []
    for link in links:
        if match := LINKEDIN.match(link):
            kind, slug = match.group(1).lower(), match.group(2)
            url = f"https://www.linkedin.com/{kind}/{slug}"
            if kind == "in":
                people.append(url)
            else:
                found.setdefault("attributes.linkedin_url", url)
        elif (match := TWITTER.match(link)) and match.group(2).lower() not in TWITTER_NOT_PROFILES:
            host = "x.com" if match.group(1).lower() == "x" else "twitter.com"
            found.setdefault("attributes.twitter_url", f"https://{host}/{match.group(2)}")
        elif (match := FACEBOOK.match(link)) and match.group(1).lower() not in FACEBOOK_NOT_PROFILES:
            found.setdefault("attributes.facebook_url", f"https://www.facebook.com/{match.group(1)}")
    if people:
        found.setdefault("attributes.linkedin_url", people[0])
    return found


def country_code(value: Any) -> str:
    """ISO 3166 alpha-2 for a code or an English name ('DE', 'DEU', 'Germany'); '' if unknown."""
    if isinstance(value, dict):
        value = value.get("identifier") or value.get("alternateName") or value.get("name") or ""
    text = _text(value).strip()
    if not text:
        return ""
    if text.upper() in UK_ALIASES:
        return UK_ALIASES[text.upper()]
    if len(text) in (2, 3) and text.isalpha():
        return countries.alpha2(text.upper()) or ""
    return countries.by_name(text) or ""


def _humanise(schema_type: str) -> str:
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", schema_type)
    return " ".join(words).capitalize()


def _industry(org: dict) -> tuple[str, float]:
    stated = _text(org.get("industry"))
    if stated:
        return stated, 0.6
    raw = org.get("@type") or []
    for item in raw if isinstance(raw, list) else [raw]:
        kind = re.split(r"[/:#]", str(item))[-1]
        if kind and kind.lower() not in GENERIC_TYPES and not kind.lower().endswith("organization"):
            return _humanise(kind), 0.5  # "AutoRepair" → "Auto repair": a hint, not a statement
    return "", 0.0


def _company_from_title(title: str, host: str) -> str:
    """The part of "Home | Acme Widgets" that matches the domain (acme-widgets.com), if any."""
    label = re.sub(r"[^a-z0-9]", "", (registered_domain(host) or host).split(".")[0])
    for part in TITLE_SEPARATORS.split(title):
        squashed = re.sub(r"[^a-z0-9]", "", part.lower())
        if label and squashed and (squashed == label or (len(label) >= 4 and squashed.startswith(label))):
            return part.strip()
    return ""


def page_suggestions(*, page: PageFacts, host: str, facts: LeadFacts) -> list[Suggestion]:
    """Turn what a home page says into suggestions for the lead."""
    detail = f"{DETAIL} ({host})"
    out: dict[str, Suggestion] = {}

    def add(name: str, value: Any, confidence: float) -> None:
        if isinstance(value, str):
            value = value.strip()[: MAX_LENGTH.get(name, MAX_DESCRIPTION)].strip()
        if value and name not in out:
            out[name] = Suggestion(name, value, confidence, detail)

    org = page.org
    add("company", page.site_name, 0.7)
    add("company", _text(org.get("name")) or _text(org.get("legalName")), 0.7)
    add("company", _company_from_title(page.title, host), 0.5)
    add("attributes.company_description", page.description, 0.6)
    industry, confidence = _industry(org) if org else ("", 0.0)
    add("industry", industry, confidence)
    address = org.get("address")
    if isinstance(address, list):
        address = next((item for item in address if isinstance(item, dict)), None)
    country = ""
    if isinstance(address, dict):
        country = country_code(address.get("addressCountry"))
        add("city", _text(address.get("addressLocality")), 0.6)
        add("postal_code", _text(address.get("postalCode")), 0.6)
        add("region", _text(address.get("addressRegion")), 0.6)
        add("country", country, 0.6)
    region = country or str(facts.get("country")) or None
    for raw, confidence in [(_text(org.get("telephone")), 0.6), *((number, 0.5) for number in page.phones)]:
        try:
            phone = normalize_phone(raw, region=region)
        except ValueError:
            continue
        if phone:
            # The company's switchboard, not the person's line: a rep must not mistake it for theirs.
            add("attributes.company_phone", phone, confidence)
            break
    for name, url in social_profiles(page.links).items():
        add(name, url, 0.7)
    return list(out.values())


class WebsiteProvider(Provider):
    name = "website"
    fills = (
        "company",
        "industry",
        "city",
        "postal_code",
        "region",
        "country",
        "attributes.company_phone",
        "attributes.company_description",
        "attributes.linkedin_url",
        "attributes.twitter_url",
        "attributes.facebook_url",
    )
    needs = ("website", "email")
    network = True

    def __init__(self, *, limits: Limits = LIMITS):
        self.limits = limits

    def applicable(self, facts: LeadFacts) -> bool:
        """Only when switched on (ENRICHMENT_WEBSITE_ENABLED) and there is a home page to read."""
        return bool(settings.ENRICHMENT_WEBSITE_ENABLED) and bool(home_page_url(facts))

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        if not settings.ENRICHMENT_WEBSITE_ENABLED:
            return []
        url = home_page_url(facts)
        if not url:
            return []
        try:
            result = url_fetch(url=url, limits=self.limits)
        except FetchError as exc:
            # An unreachable, refused or odd site is normal on the web: no suggestions, no retry.
            logger.info("website enrichment: %s not read: %s", url, exc)
            return []
        if result.truncated:
            logger.info("website enrichment: %s cut off at %d bytes", result.url, len(result.body))
        page = page_read(html=result.body, charset=result.charset, base_url=result.url)
        host = urlsplit(result.url).hostname or ""
        return page_suggestions(page=page, host=host, facts=facts)
