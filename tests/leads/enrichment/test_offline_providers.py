"""The offline providers on real data: real numbers, real public-suffix cases, real IPs, real names."""

import pytest

from leads.enrichment.providers.base import LeadFacts
from leads.enrichment.providers.email import EmailProvider
from leads.enrichment.providers.ip import IpProvider
from leads.enrichment.providers.job_title import classify_title
from leads.enrichment.providers.location import LocationProvider
from leads.enrichment.providers.name import NameProvider
from leads.enrichment.providers.phone import PhoneProvider


def suggested(provider, **values) -> dict:
    ip = values.pop("ip", None)
    facts = LeadFacts(values=values, ip=ip)
    return {s.field: s.value for s in provider.suggest(facts)} if provider.applicable(facts) else {}


@pytest.mark.parametrize(
    "email, kind, website, company",
    [
        ("jane@mail.acme-widgets.co.uk", "corporate", "https://acme-widgets.co.uk", "Acme Widgets"),
        ("bob@shop.example.com.au", "corporate", "https://example.com.au", "Example"),
        ("eve@sub.initech.com", "corporate", "https://initech.com", "Initech"),
        ("someone@gmail.com", "free", None, None),
        ("someone@yahoo.co.uk", "free", None, None),
        ("temp@mailinator.com", "disposable", None, None),
    ],
)
def test_email_domain_kinds_and_company_website(email, kind, website, company):
    found = suggested(EmailProvider(), email=email)
    assert found["email_kind"] == kind
    assert found.get("website") == website
    assert found.get("company") == company


def test_role_accounts_and_invalid_addresses():
    assert suggested(EmailProvider(), email="info@initech.com")["email_is_role"] is True
    assert suggested(EmailProvider(), email="sales+eu@initech.com")["email_is_role"] is True
    assert suggested(EmailProvider(), email="peter@initech.com")["email_is_role"] is False
    assert suggested(EmailProvider(), email="not an email") == {"email_kind": "invalid"}


@pytest.mark.parametrize(
    "phone, country, time_zone, line_type, city",
    [
        ("+442079460958", "GB", "Europe/London", "fixed", "London"),
        ("+14155552671", "US", "America/Los_Angeles", "fixed_or_mobile", "San Francisco"),
        ("+61291234567", "AU", "Australia/Sydney", "fixed", "Sydney"),
        ("+4930123456", "DE", "Europe/Berlin", "fixed", "Berlin"),
        ("+33612345678", "FR", "Europe/Paris", "mobile", None),
        ("+18005550199", "US", None, "toll_free", None),
        ("+81312345678", "JP", "Asia/Tokyo", "fixed", "Tokyo"),
    ],
)
def test_phone_numbers_from_several_countries(phone, country, time_zone, line_type, city):
    found = suggested(PhoneProvider(), phone=phone)
    assert found["country"] == country
    assert found.get("time_zone") == time_zone
    assert found["phone_line_type"] == line_type
    assert found.get("city") == city


@pytest.mark.parametrize(
    "ip, country, time_zone",
    [
        ("81.2.69.142", "GB", "Europe/London"),
        ("8.8.8.8", "US", None),  # several zones: no guess
        ("2a00:1450:4001:80b::200e", "DE", "Europe/Berlin"),
        ("2001:4860:4860::8888", "US", None),
        ("10.1.2.3", None, None),  # private: nothing
        ("::ffff:8.8.8.8", None, None),  # mapped addresses are not looked up as-is
        ("not-an-ip", None, None),
    ],
)
def test_ip_addresses_v4_and_v6(ip, country, time_zone):
    found = suggested(IpProvider(), ip=ip)
    assert found.get("country") == country
    assert found.get("time_zone") == time_zone


@pytest.mark.parametrize(
    "first, last, expected",
    [
        ("Ludwig van Beethoven", "", ("Ludwig", "van Beethoven")),
        ("María José García-López", "", ("María José", "García-López")),
        ("JOHN MCDONALD", "", ("John", "McDonald")),
        ("ada", "LOVELACE", ("Ada", "Lovelace")),
        ("Ada", "Lovelace", None),  # already fine: nothing to suggest
    ],
)
def test_names_are_split_and_capitalised(first, last, expected):
    found = suggested(NameProvider(), first_name=first, last_name=last)
    if expected is None:
        assert found == {}
    else:
        assert (found.get("first_name", first), found.get("last_name", last)) == expected


@pytest.mark.parametrize(
    "country, region, city, zone",
    [
        ("DE", "", "", "Europe/Berlin"),
        ("US", "", "Chicago", "America/Chicago"),
        ("AU", "", "Perth", "Australia/Perth"),
        ("US", "", "", None),
        ("CA", "", "Vancouver", "America/Vancouver"),
    ],
)
def test_location_to_time_zone(country, region, city, zone):
    assert suggested(LocationProvider(), country=country, region=region, city=city).get("time_zone") == zone


@pytest.mark.parametrize(
    "title, seniority, department",
    [
        ("VP Sales", "vp", "sales"),
        ("Head of Engineering", "vp", "engineering"),
        ("CTO", "c_level", "engineering"),
        ("Chief Executive Officer", "c_level", "executive"),
        ("Vice President, Finance", "vp", "finance"),
        ("Director of IT", "director", "it"),
        ("Marketing Manager", "manager", "marketing"),
        ("Senior Software Engineer", "individual", "engineering"),
        ("Account Executive", "individual", "sales"),
        ("Founder & CEO", "c_level", "executive"),
    ],
)
def test_job_titles_to_seniority_and_department(title, seniority, department):
    assert classify_title(title) == (seniority, department)
