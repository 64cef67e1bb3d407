"""Files shaped exactly like other CRMs' standard exports, generated from their documented column
lists (docs/import.md), with what each row should become. Used by test_import_crm.py and by
bench/import_bench.py (a 100,000-row Salesforce report).

Every generator returns (header, rows, expected): rows are lists of cells as the CRM writes them,
expected[i] the lead row i must give (None for a footer line)."""
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
    (["United States", "USA", "U.S.", "United States of America", "US"], "US",
     [("CA", "California"), ("California", "California"), ("NY", "New York"), ("Texas", "Texas")]),
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
            return (phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.NATIONAL),
                    phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164))
    return (phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL),
            phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))


def people(count: int, *, statuses: list[tuple[str, str]], seed: int, cp1252: bool = False) -> list[tuple[dict, Expected]]:
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
            "first": first, "last": last, "email": f"{_ascii(first)}.{_ascii(last)}.{n}@{domain}",
            "phone": phone_written, "mobile": mobile_written, "company": company,
            "title": rng.choice(["CEO", "Head of Sales", "Einkäufer", "Directrice marketing", "CTO"]),
            "website": f"www.{domain}", "street": " ".join(faker.street_address().replace("\n", ", ").split()),
            "city": faker.city(), "region": region_written, "postal": faker.postcode(),
            "country": written_countries[n % len(written_countries)],
            "source": rng.choice(["Web", "Trade Show", "Partner Referral", "Messe München"]),
            "status": status_written, "owner": owner_written,
            "created": BASE + timedelta(days=n % 300, hours=n % 9, minutes=n % 60),
        }
        expected = Expected(
            first_name=first, last_name=last, email=cells["email"], phone=phone, mobile=mobile,
            company=company, job_title=cells["title"], website=f"https://www.{domain}", street=cells["street"],
            city=cells["city"], region=region, postal_code=cells["postal"], country=code, source=cells["source"],
            status=status, owner=owner, owner_written=owner_written, created=cells["created"], unknown_status=unknown,
        )
        result.append((cells, expected))
    return result


SALESFORCE_STATUSES = [("Open - Not Contacted", "new"), ("Working - Contacted", "active"),
                       ("Closed - Converted", "converted"), ("Closed - Not Converted", "lost")]
HUBSPOT_STATUSES = [("New", "new"), ("Open", "new"), ("In Progress", "active"), ("Open Deal", "qualified"),
                    ("Unqualified", "lost"), ("Attempted to Contact", "active"), ("Connected", "active"),
                    ("Bad Timing", "nurturing")]
PIPEDRIVE_STATUSES = [("Open", "new"), ("Won", "converted"), ("Lost", "lost"), ("Archived", "lost")]
ZOHO_STATUSES = [("Not Contacted", "new"), ("Attempted to Contact", "active"), ("Contact in Future", "nurturing"),
                 ("Contacted", "active"), ("Pre-Qualified", "qualified"), ("Not Qualified", "lost"),
                 ("Junk Lead", "lost"), ("Lost Lead", "lost")]

SALESFORCE_REPORT_HEADER = [
    "Lead Owner", "Salutation", "First Name", "Last Name", "Title", "Company / Account", "Email", "Phone", "Mobile",
    "Street", "City", "State/Province", "Zip/Postal Code", "Country", "Lead Source", "Lead Status", "Rating",
    "Industry", "Website", "Create Date", "Lead ID",
]
SALESFORCE_FOOTER = [
    [""], ["Grand Totals ({count} records)"], [""], [""], ["Confidential Information - Do Not Distribute"],
    ["Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."], [""],
    ["Generated By:  Dana Whitfield  11/3/2025 2:22 PM"], ["Acme Leads Inc."],
]


def salesforce_report(count: int, *, seed: int = 1) -> tuple[list[str], list[list], list[Expected | None]]:
    """A leads report exported as CSV (Details Only): m/d/yyyy dates, Windows-1252, a footer."""
    rows, expected = [], []
    for n, (c, e) in enumerate(people(count, statuses=SALESFORCE_STATUSES, seed=seed, cp1252=True)):
        rows.append([c["owner"], "", c["first"], c["last"], c["title"], c["company"], c["email"], c["phone"],
                     c["mobile"], c["street"], c["city"], c["region"], c["postal"], c["country"], c["source"],
                     c["status"], "Warm", "Software", c["website"], f"{c['created']:%m/%d/%Y}".lstrip("0").replace("/0", "/"),
                     f"00Q5g00000{n:08d}"])
        e.date_only, e.attributes = True, {"Rating": "Warm", "Lead ID": f"00Q5g00000{n:08d}"}
        expected.append(e)
    for line in SALESFORCE_FOOTER:
        rows.append([cell.format(count=count) for cell in line])
        expected.append(None)
    return SALESFORCE_REPORT_HEADER, rows, expected


SALESFORCE_DATALOADER_HEADER = [
    "Id", "OwnerId", "Owner.Name", "FirstName", "LastName", "Salutation", "Title", "Company", "Street", "City",
    "State", "PostalCode", "Country", "Phone", "MobilePhone", "Email", "Website", "LeadSource", "Status",
    "Industry", "IsConverted", "CreatedDate",
]


def salesforce_dataloader(count: int, *, seed: int = 2):
    rows, expected = [], []
    for n, (c, e) in enumerate(people(count, statuses=SALESFORCE_STATUSES, seed=seed)):
        rows.append([f"00Q5g00001{n:08d}", "0055g00000AbCdE", c["owner"], c["first"], c["last"], "", c["title"],
                     c["company"], c["street"], c["city"], c["region"], c["postal"], c["country"], c["phone"],
                     c["mobile"], c["email"], c["website"], c["source"], c["status"], "Retail", "false",
                     f"{c['created']:%Y-%m-%dT%H:%M:%S}.000Z"])
        expected.append(e)
    return SALESFORCE_DATALOADER_HEADER, rows, expected


HUBSPOT_HEADER = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number", "Job Title",
    "Company Name", "Website URL", "Street Address", "City", "State/Region", "Postal Code", "Country/Region",
    "Lead Status", "Lifecycle Stage", "Contact owner", "Create Date", "Original Source", "Marketing contact status",
]


def hubspot_contacts(count: int, *, seed: int = 3):
    rows, expected = [], []
    for n, (c, e) in enumerate(people(count, statuses=HUBSPOT_STATUSES, seed=seed)):
        owner = OWNER_EMAILS.get(e.owner or "", c["owner"])  # HubSpot writes the owner's email when it has one
        rows.append([str(1000 + n), c["first"], c["last"], c["email"], c["phone"], c["mobile"], c["title"],
                     c["company"], c["website"].removeprefix("www."), c["street"], c["city"], c["region"],
                     c["postal"], c["country"], c["status"], "Lead", owner, f"{c['created']:%Y-%m-%d %H:%M}",
                     c["source"], "Marketing contact"])
        e.website = e.website.replace("https://www.", "https://")
        e.owner_written = owner
        expected.append(e)
    return HUBSPOT_HEADER, rows, expected


PIPEDRIVE_HEADER = [
    "Person - ID", "Person - Name", "Person - First name", "Person - Last name", "Person - Email - Work",
    "Person - Email - Home", "Person - Phone - Work", "Person - Phone - Mobile", "Person - Job title",
    "Person - Organization", "Person - Owner", "Person - Label", "Person - Person created",
    "Person - Postal address", "Person - Postal address - City/town/village/locality",
    "Person - Postal address - State/County", "Person - Postal address - ZIP/Postal code",
    "Person - Postal address - Country", "Organization - Name", "Organization - Website", "Lead - Source",
    "Lead - Status",
]


def pipedrive_persons(count: int, *, seed: int = 4):
    rows, expected = [], []
    for n, (c, e) in enumerate(people(count, statuses=PIPEDRIVE_STATUSES, seed=seed)):
        rows.append([str(n + 1), f"{c['first']} {c['last']}", c["first"], c["last"], c["email"], "", c["phone"],
                     c["mobile"], c["title"], c["company"], c["owner"], "Hot lead", f"{c['created']:%Y-%m-%d %H:%M:%S}",
                     c["street"], c["city"], c["region"], c["postal"], c["country"], c["company"], c["website"],
                     c["source"], c["status"]])
        expected.append(e)
    return PIPEDRIVE_HEADER, rows, expected


ZOHO_HEADER = [
    "Record Id", "Lead Owner", "Salutation", "First Name", "Last Name", "Company", "Designation", "Email", "Phone",
    "Mobile", "Website", "Lead Source", "Lead Status", "Industry", "Annual Revenue", "Email Opt Out", "Street",
    "City", "State", "Zip Code", "Country", "Created Time", "Modified Time", "Created By", "Budget (EUR)",
]


def zoho_leads(count: int, *, seed: int = 5):
    """Zoho in a day-first locale: 03/11/2025 14:22 is November 3."""
    rows, expected = [], []
    for n, (c, e) in enumerate(people(count, statuses=ZOHO_STATUSES, seed=seed)):
        created = f"{c['created']:%d/%m/%Y %H:%M}"
        rows.append([f"zcrm_{5000000 + n}", c["owner"], "", c["first"], c["last"], c["company"], c["title"],
                     c["email"], c["phone"], c["mobile"], c["website"], c["source"], c["status"], "Software",
                     "250000", "false", c["street"], c["city"], c["region"], c["postal"], c["country"], created,
                     created, "Dana Whitfield", str(1000 + n)])
        e.created = e.created.replace(second=0)
        expected.append(e)
    return ZOHO_HEADER, rows, expected
