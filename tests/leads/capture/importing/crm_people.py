"""The people behind the CRM export files of crm_exports.py: owners, countries written as people
write them, phone numbers by region, and what each person's lead row should become (`Expected`)."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers
from faker import Faker

# Owners the files name: (as the file writes them, the username of the user they are). "Former Rep"
# left the company: no user, kept as an attribute.
OWNERS = [("Dana Whitfield", "dana"), ("Jürgen Groß", "juergen"), ("Former Rep", None)]
OWNER_EMAILS = {"dana": "dana@leadcrm.example", "juergen": "juergen@leadcrm.example"}

# (as people write the country, ISO code, (region as written, region stored), phone region)
COUNTRIES = [
    (
        ["United States", "USA", "U.S.", "United States of America", "US"],
        "US",
        [("CA", "California"), ("California", "California"), ("NY", "New York"), ("Texas", "Texas")],
    ),
    (["Germany", "Deutschland", "DE"], "DE", [("Bayern", "Bayern"), ("BY", "Bayern"), ("Berlin", "Berlin")]),
    (["United Kingdom", "UK", "Great Britain"], "GB", [("England", "England"), ("Scotland", "Scotland")]),
    (["France", "FR"], "FR", [("Île-de-France", "Île-de-France")]),
    (["Spain", "España"], "ES", [("Madrid, Comunidad de", "Madrid, Comunidad de")]),
]
LOCALES = {"US": "en_US", "DE": "de_DE", "GB": "en_GB", "FR": "fr_FR", "ES": "es_ES"}
UNKNOWN_STATUS = "Waiting on Legal"  # a custom status no default table knows
BASE = datetime(2025, 1, 6, 9, 0)


@dataclass
class Expected:
    first_name: str
    last_name: str
    email: str
    phone: str
    mobile: str
    company: str
    job_title: str
    website: str
    street: str
    city: str
    region: str
    postal_code: str
    country: str
    source: str
    status: str
    owner: str | None  # username
    owner_written: str
    created: datetime  # naive, local
    date_only: bool = False
    unknown_status: str = ""
    attributes: dict = field(default_factory=dict)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum())).lower()


def _phone(rng: random.Random, code: str, *, mobile: bool = False) -> tuple[str, str]:
    """A valid number of the country, as people write it (national format) and in E.164."""
    kind = phonenumbers.PhoneNumberType.MOBILE if mobile else phonenumbers.PhoneNumberType.FIXED_LINE
    example = phonenumbers.example_number_for_type(code, kind)
    digits = str(example.national_number)
    for _ in range(20):
        # Six random digits: a million numbers per country, so a 100,000-row export rarely repeats one.
        tail = "".join(rng.choice("0123456789") for _ in range(6))
        candidate = phonenumbers.parse(digits[:-6] + tail, code)
        if phonenumbers.is_valid_number(candidate):
            return (
                phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.NATIONAL),
                phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164),
            )
    return (
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164),
    )


def people(
    count: int, *, statuses: list[tuple[str, str]], seed: int, cp1252: bool = False
) -> list[tuple[dict, Expected]]:
    """`count` people with non-ASCII names where their locale has them; statuses as (written, ours)."""
    rng = random.Random(seed)
    fakers = {code: Faker(locale) for code, locale in LOCALES.items()}
    for n, faker in enumerate(fakers.values()):
        faker.seed_instance(seed + n)
    result = []
    for n in range(count):
        written_countries, code, regions = COUNTRIES[n % len(COUNTRIES)]
        faker = fakers[code]
        first, last = faker.first_name(), faker.last_name()
        if cp1252:
            while not (first + last).encode("cp1252", errors="ignore").decode("cp1252") == first + last:
                first, last = faker.first_name(), faker.last_name()
        region_written, region = regions[n % len(regions)]
        company = f"{faker.last_name()} {rng.choice(['GmbH', 'Ltd', 'Inc', 'SA', 'SARL', 'AG'])}"
        domain = f"{_ascii(company)[:20] or 'company'}{n}.example"
        phone_written, phone = _phone(rng, code)
        mobile_written, mobile = _phone(rng, code, mobile=True) if n % 3 == 0 else ("", "")
        if n % 10 == 0:
            status_written, status, unknown = UNKNOWN_STATUS, "new", UNKNOWN_STATUS
        else:
            status_written, status = statuses[n % len(statuses)]
            unknown = ""
        owner_written, owner = OWNERS[n % len(OWNERS)]
        cells = {
            "first": first,
            "last": last,
            "email": f"{_ascii(first)}.{_ascii(last)}.{n}@{domain}",
            "phone": phone_written,
            "mobile": mobile_written,
            "company": company,
            "title": rng.choice(["CEO", "Head of Sales", "Einkäufer", "Directrice marketing", "CTO"]),
            "website": f"www.{domain}",
            "street": " ".join(faker.street_address().replace("\n", ", ").split()),
            "city": faker.city(),
            "region": region_written,
            "postal": faker.postcode(),
            "country": written_countries[n % len(written_countries)],
            "source": rng.choice(["Web", "Trade Show", "Partner Referral", "Messe München"]),
            "status": status_written,
            "owner": owner_written,
            "created": BASE + timedelta(days=n % 300, hours=n % 9, minutes=n % 60),
        }
        expected = Expected(
            first_name=first,
            last_name=last,
            email=cells["email"],
            phone=phone,
            mobile=mobile,
            company=company,
            job_title=cells["title"],
            website=f"https://www.{domain}",
            street=cells["street"],
            city=cells["city"],
            region=region,
            postal_code=cells["postal"],
            country=code,
            source=cells["source"],
            status=status,
            owner=owner,
            owner_written=owner_written,
            created=cells["created"],
            unknown_status=unknown,
        )
        result.append((cells, expected))
    return result
