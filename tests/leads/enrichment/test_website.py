"""The company-website provider against a local web server: what a rep gets from a real-looking
home page, and that a bad site (huge, slow, not HTML, looping) costs nothing but a log line."""

import json
import time

import pytest

from leads.common.safe_http import Limits
from leads.enrichment.providers.base import LeadFacts
from leads.enrichment.providers.website import PageFacts, WebsiteProvider, home_page_url, page_suggestions
from tests.leads.enrichment import LocalServer, guard_connections, html, redirect

JSON_LD = {
    "@context": "https://schema.org",
    "@graph": [
        {
            "@type": "WebSite",
            "@id": "https://acme.example/#website",
            "name": "Acme home",
            "url": "https://acme.example/",
        },
        {"@type": "Organization", "@id": "https://acme.example/#org", "name": "Acme Group"},
        {
            "@type": ["LocalBusiness", "ProfessionalService"],
            "name": "Acme Widgets Ltd",
            "telephone": "020 7946 0958",
            "address": {
                "@type": "PostalAddress",
                "streetAddress": "1 Widget Way",
                "addressLocality": "London",
                "postalCode": "EC1A 1BB",
                "addressRegion": "Greater London",
                "addressCountry": {"@type": "Country", "name": "United Kingdom"},
            },
            "industry": "Industrial machinery",
            "sameAs": ["https://www.linkedin.com/company/acme-widgets/", "https://www.facebook.com/acmewidgets"],
        },
    ],
}

HOME_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Home | Acme Widgets</title>
  <meta name="description" content="Acme Widgets makes   precision widgets for factories in 40 countries.">
  <meta property="og:site_name" content="Acme Widgets">
  <meta property="og:description" content="Widgets, made well.">
  <meta name="twitter:card" content="summary">
  <script type="application/ld+json">{{ this is not json }}</script>
  <script type="application/ld+json">{json.dumps(JSON_LD)}</script>
</head>
<body>
  <nav><a href="/about">About</a> <a href="tel:+442079460000">Call us</a></nav>
  <main><h1>Widgets for every factory</h1></main>
  <footer>
    <a href="https://twitter.com/intent/tweet?url=https://acme.example">Share</a>
    <a href="https://www.facebook.com/sharer/sharer.php?u=https://acme.example">Share</a>
    <a href="https://www.linkedin.com/in/jane-founder">Our founder</a>
    <a href="https://x.com/acmewidgets?ref=footer">X</a>
  </footer>
</body>
</html>"""

EXPECTED = {
    "company": "Acme Widgets",
    "attributes.company_description": "Acme Widgets makes precision widgets for factories in 40 countries.",
    "industry": "Industrial machinery",
    "attributes.company_phone": "+442079460958",
    "city": "London",
    "postal_code": "EC1A 1BB",
    "region": "Greater London",
    "country": "GB",
    "attributes.linkedin_url": "https://www.linkedin.com/company/acme-widgets",
    "attributes.facebook_url": "https://www.facebook.com/acmewidgets",
    "attributes.twitter_url": "https://x.com/acmewidgets",
}

FAST = Limits(connect_timeout=0.5, read_timeout=0.5, total_timeout=2.0)


@pytest.fixture
def site(settings):
    with LocalServer() as server:
        settings.ENRICHMENT_WEBSITE_ENABLED = True
        settings.ENRICHMENT_WEBSITE_ALLOW = [server.host_port]
        yield server


def suggestions(server, *, limits=FAST, **values):
    values.setdefault("website", server.url("/about-us?utm=1"))
    provider = WebsiteProvider(limits=limits)
    facts = LeadFacts(values=values)
    assert provider.applicable(facts)
    return provider.suggest(facts)


def test_a_home_page_fills_company_contact_and_social_profiles(site):
    site.routes["/"] = html(HOME_PAGE)
    found = suggestions(site)
    assert {s.field: s.value for s in found} == EXPECTED
    assert [r["path"] for r in site.requests] == ["/"]  # the home page, not the path the lead gave
    confidence = {s.field: s.confidence for s in found}
    assert confidence["company"] == 0.7
    assert all(0.5 <= c <= 0.7 for c in confidence.values())
    assert {s.detail for s in found} == {"from company website (127.0.0.1)"}


def test_json_ld_name_type_and_tel_links_stand_in_for_what_is_missing(site):
    page = """<html><head><title>Welcome</title>
      <script type="application/ld+json">{"@context": "https://schema.org", "@type": "Dentist",
        "name": "Bright Smiles Dental", "description": "Family dentist in Leeds.",
        "address": {"addressLocality": "Leeds", "postalCode": "LS1 4AP", "addressCountry": "GB"}}</script>
      </head><body><a href="tel:0113 496 0000">Call</a></body></html>"""
    site.routes["/"] = html(page)
    found = {s.field: (s.value, s.confidence) for s in suggestions(site)}
    assert found["company"] == ("Bright Smiles Dental", 0.7)
    assert found["attributes.company_description"] == ("Family dentist in Leeds.", 0.6)
    assert found["industry"] == ("Dentist", 0.5)  # from the schema.org type: a hint only
    assert found["attributes.company_phone"] == ("+441134960000", 0.5)  # a tel: link, read with the page's country
    assert (found["city"][0], found["country"][0]) == ("Leeds", "GB")


def test_the_title_names_the_company_only_when_it_matches_the_domain(site):
    site.routes["/"] = html("<title>Home | Initech – Software that works</title>")
    found = {s.field: s.value for s in suggestions(site, website=site.url("/"))}
    assert "company" not in found  # 127.0.0.1 is not initech.*: the title is not trusted
    page = PageFacts(title="Home | Initech – Software that works")
    assert {
        s.field: s.value for s in page_suggestions(page=page, host="www.initech.com", facts=LeadFacts(values={}))
    } == {"company": "Initech"}


def test_a_page_in_a_legacy_charset_is_read_correctly(site):
    page = '<html><head><meta charset="windows-1252"><meta property="og:site_name" content="Café Müller"></head></html>'
    site.routes["/"] = lambda h: h.reply(200, page.encode("cp1252"), "text/html")
    assert {s.field: s.value for s in suggestions(site)} == {"company": "Café Müller"}


def test_an_oversized_page_is_cut_off_and_only_its_first_megabyte_is_read(site):
    head = '<html><head><meta property="og:site_name" content="Big Corp"></head><body>'
    padding = "<p>" + "lorem ipsum " * 200 + "</p>"
    tail = '<a href="https://www.linkedin.com/company/big-corp">LinkedIn</a></body></html>'
    body = (head + padding * 2000 + tail).encode()  # about 4.8 MB; the LinkedIn link is past the cap
    site.routes["/"] = lambda h: h.reply(200, body, "text/html")
    started = time.monotonic()
    found = {s.field: s.value for s in suggestions(site, limits=Limits(max_bytes=1024 * 1024))}
    assert found == {"company": "Big Corp"}
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "route",
    [
        html("%PDF-1.7", content_type="application/pdf"),
        html('{"name": "Acme"}', content_type="application/json"),
        html("<title>Acme</title>", status=500),
        html("<title>Acme</title>", status=404),
        redirect("/"),  # a loop
        redirect("http://169.254.169.254/latest/meta-data/"),
        lambda h: h.reply(200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "text/html"),  # binary junk as HTML
    ],
    ids=["pdf", "json", "500", "404", "redirect-loop", "redirect-to-metadata", "binary-junk"],
)
def test_a_bad_site_gives_no_suggestions_and_no_exception(site, route):
    site.routes["/"] = route
    assert suggestions(site) == []


def test_a_slow_site_times_out_quickly_without_an_exception(site):
    site.routes["/"] = lambda h: site.release.wait(10)
    started = time.monotonic()
    assert suggestions(site, limits=Limits(read_timeout=0.3, total_timeout=1)) == []
    assert time.monotonic() - started < 2


def test_switched_off_it_does_nothing_and_connects_nowhere(settings, monkeypatch):
    connects = guard_connections(monkeypatch)
    settings.ENRICHMENT_WEBSITE_ENABLED = False
    provider = WebsiteProvider()
    facts = LeadFacts(values={"website": "https://acme.example", "email": "jane@acme.example"})
    assert provider.applicable(facts) is False
    assert provider.suggest(facts) == []
    assert connects == []


def test_an_inside_website_is_refused_even_when_switched_on(settings, monkeypatch):
    connects = guard_connections(monkeypatch)
    settings.ENRICHMENT_WEBSITE_ENABLED = True
    settings.ENRICHMENT_WEBSITE_ALLOW = []
    for website in ("http://127.0.0.1/", "169.254.169.254", "http://localhost:8000", "http://[::1]/"):
        assert WebsiteProvider().suggest(LeadFacts(values={"website": website})) == []
    assert connects == []


@pytest.mark.parametrize(
    "values, url",
    [
        ({"website": "acme.example"}, "https://acme.example/"),
        ({"website": "http://www.acme.example/contact?x=1", "email": "j@other.example"}, "http://www.acme.example/"),
        ({"email": "jane@mail.acme-widgets.co.uk"}, "https://acme-widgets.co.uk/"),
        ({"email": "Bob@Shop.Example.com.au"}, "https://example.com.au/"),
        ({"email": "someone@gmail.com"}, ""),  # free mail: not the lead's company
        ({"email": "someone@yahoo.co.uk"}, ""),
        ({"email": "temp@mailinator.com"}, ""),  # disposable
        ({"email": "not-an-address"}, ""),
        ({"website": "ftp://acme.example"}, ""),
        ({}, ""),
    ],
)
def test_which_home_page_is_read(values, url):
    assert home_page_url(LeadFacts(values=values)) == url


@pytest.mark.django_db
def test_the_enrichment_service_applies_the_website_suggestions_with_provenance(site):
    from leads.enrichment.service import leads_enrich
    from leads.models import EnrichmentValue
    from tests.factories import LeadFactory

    site.routes["/"] = html(HOME_PAGE)
    lead = LeadFactory(website=site.url("/"), company="", phone="", city="", country="", industry="", attributes={})
    leads_enrich(lead_ids=[lead.pk], providers=[WebsiteProvider(limits=FAST)])
    lead.refresh_from_db()
    assert (lead.company, lead.industry, lead.phone, lead.city, str(lead.country)) == (
        "Acme Widgets",
        "Industrial machinery",
        "",
        "London",
        "GB",
    )
    assert lead.attributes["company_phone"] == "+442079460958"  # the switchboard, kept apart from the lead's own phone
    assert lead.attributes["linkedin_url"] == "https://www.linkedin.com/company/acme-widgets"
    assert EnrichmentValue.objects.get(lead=lead, field="company").provider == "website"
