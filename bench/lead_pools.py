"""The made-up world the bench leads come from: people, teams, territories, companies, sources."""

from __future__ import annotations

import random

# --- People ----------------------------------------------------------------------
MANAGERS = ["manager", "manager.na", "manager.uk", "manager.eu"]
MARKETERS = ["marketer"]
# team name -> (its manager, its reps); rep14 also covers Europe.
TEAMS = {
    "North America": ("manager.na", [f"rep{n:02d}" for n in range(1, 11)]),
    "UK & Ireland": ("manager.uk", [f"rep{n:02d}" for n in range(11, 15)]),
    "Europe": ("manager.eu", ["rep14"] + [f"rep{n:02d}" for n in range(15, 25)]),
}
BENCH_MANAGER = "manager"
BENCH_REP = "rep01"

# --- Territories ------------------------------------------------------------------
# country -> (Faker locale, weight, team, time zones, phone prefix, phone national-part generator key, TLD)
COUNTRIES = {
    "US": (
        "en_US",
        36,
        "North America",
        ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"],
        "com",
    ),
    "CA": ("en_CA", 5, "North America", ["America/Toronto", "America/Vancouver"], "ca"),
    "GB": ("en_GB", 15, "UK & Ireland", ["Europe/London"], "co.uk"),
    "IE": ("en_IE", 2, "UK & Ireland", ["Europe/Dublin"], "ie"),
    "DE": ("de_DE", 12, "Europe", ["Europe/Berlin"], "de"),
    "FR": ("fr_FR", 9, "Europe", ["Europe/Paris"], "fr"),
    "ES": ("es_ES", 7, "Europe", ["Europe/Madrid"], "es"),
    "IT": ("it_IT", 6, "Europe", ["Europe/Rome"], "it"),
    "NL": ("nl_NL", 5, "Europe", ["Europe/Amsterdam"], "nl"),
    "SE": ("sv_SE", 3, "Europe", ["Europe/Stockholm"], "se"),
}


def _phone(rng: random.Random, country: str) -> str:
    """A plausible mobile or landline number in E.164 for the country."""
    d = rng.randrange
    if country in ("US", "CA"):
        return f"+1{d(2, 10)}{d(0, 100):02d}{d(2, 10)}{d(0, 1_000_000):06d}"
    if country == "GB":
        return f"+447{d(0, 10**9):09d}" if d(3) else f"+4420{d(0, 10**8):08d}"
    if country == "IE":
        return f"+3538{d(3, 10)}{d(0, 10**7):07d}"
    if country == "DE":
        return f"+491{d(5, 8)}{d(0, 10**8):08d}" if d(3) else f"+4930{d(0, 10**8):08d}"
    if country == "FR":
        return f"+33{d(6, 8)}{d(0, 10**8):08d}"
    if country == "ES":
        return f"+346{d(0, 10**8):08d}"
    if country == "IT":
        return f"+393{d(0, 10**9):09d}"
    if country == "NL":
        return f"+316{d(0, 10**8):08d}"
    return f"+467{d(0, 10**8):08d}"  # SE


COMPANY_SUFFIXES = {
    "US": ["Inc", "LLC", "Group", "Corp", "Partners", "Co"],
    "CA": ["Inc", "Ltd", "Group", "Corp"],
    "GB": ["Ltd", "PLC", "Group", "& Co", "LLP"],
    "IE": ["Ltd", "Group", "Teoranta"],
    "DE": ["GmbH", "AG", "KG", "GmbH & Co. KG", "SE"],
    "FR": ["SA", "SARL", "SAS", "Groupe"],
    "ES": ["S.L.", "S.A.", "Grupo"],
    "IT": ["S.p.A.", "s.r.l.", "Gruppo"],
    "NL": ["B.V.", "N.V.", "Groep"],
    "SE": ["AB", "Group", "HB"],
}
COMPANY_WORDS = [
    "Apex",
    "Blue",
    "North",
    "Bright",
    "Nova",
    "Summit",
    "Vertex",
    "Silver",
    "Cedar",
    "Harbor",
    "Pioneer",
    "Quantum",
    "Atlas",
    "Beacon",
    "Crest",
    "Evergreen",
    "Falcon",
    "Granite",
    "Horizon",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "Meridian",
    "Nimbus",
    "Orbit",
    "Pinnacle",
    "Redwood",
    "Sterling",
    "Tidal",
    "Union",
    "Vantage",
    "Willow",
    "Zenith",
    "Alpine",
    "Boreal",
    "Cobalt",
    "Delta",
    "Ember",
    "Fjord",
    "Helix",
]
COMPANY_INDUSTRY_WORDS = [
    "Logistics",
    "Software",
    "Systems",
    "Analytics",
    "Foods",
    "Consulting",
    "Energy",
    "Health",
    "Labs",
    "Solutions",
    "Media",
    "Capital",
    "Robotics",
    "Dynamics",
    "Networks",
    "Foods",
    "Textiles",
    "Motors",
    "Pharma",
    "Insurance",
    "Realty",
    "Freight",
    "Studios",
    "Security",
    "Devices",
    "Materials",
    "Retail",
]
INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Finance",
    "Education",
    "Logistics",
    "Construction",
    "Hospitality",
    "Media",
    "Energy",
    "Telecommunications",
    "Real estate",
    "Legal",
    "Non-profit",
    "Agriculture",
]
COMPANY_SIZES = (["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001+"], [22, 28, 20, 11, 7, 7, 5])
FREE_MAIL = {
    "US": ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com"],
    "CA": ["gmail.com", "outlook.com", "yahoo.ca", "hotmail.com"],
    "GB": ["gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.uk", "btinternet.com"],
    "IE": ["gmail.com", "outlook.com", "eircom.net"],
    "DE": ["gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.de"],
    "FR": ["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"],
    "ES": ["gmail.com", "hotmail.es", "yahoo.es", "outlook.es"],
    "IT": ["gmail.com", "libero.it", "virgilio.it", "hotmail.it"],
    "NL": ["gmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com"],
    "SE": ["gmail.com", "telia.com", "hotmail.se", "outlook.com"],
}

STATUSES = ["new", "active", "nurturing", "qualified", "converted", "lost"]
STATUS_WEIGHTS_RECENT = [55, 25, 10, 6, 1, 3]  # created in the last 14 days
STATUS_WEIGHTS_OLDER = [12, 25, 22, 10, 10, 21]
SCORE_RANGE = {  # (low, high, mode) for a triangular draw
    "new": (0, 60, 15),
    "active": (15, 85, 45),
    "nurturing": (5, 65, 30),
    "qualified": (55, 100, 80),
    "converted": (50, 100, 85),
    "lost": (0, 60, 20),
}
LOST_REASONS = [
    "No budget",
    "Chose a competitor",
    "No response after 5 attempts",
    "Not a fit",
    "Timing: revisit next year",
    "Duplicate of an existing customer",
    "Went with an in-house solution",
    "Project cancelled",
]

SOURCES = ["web_form", "email", "chat", "webhook", "import", "api", "manual", "call"]
SOURCE_WEIGHTS = [34, 12, 8, 10, 16, 8, 7, 5]
SOURCE_DETAILS = {
    "web_form": [
        "Contact us form",
        "Demo request form",
        "Pricing page form",
        "Whitepaper: Lead scoring 101",
        "Newsletter signup",
    ],
    "email": ["sales@ inbox", "info@ inbox", "partners@ inbox"],
    "chat": ["Website chat", "Pricing page chat"],
    "webhook": ["LinkedIn Lead Gen Forms", "Facebook Lead Ads", "Webinar: Pipeline hygiene", "Google Ads lead form"],
    "import": ["Trade show list 2024", "Trade show list 2025", "Partner referrals Q2", "Legacy CRM export"],
    "api": ["Partner portal", "Marketing automation sync"],
    "manual": ["", "Entered by rep", "Referral"],
    "call": ["Inbound sales line", "Support line transfer"],
}
EXTERNAL_ID_PREFIX = {"webhook": "hook", "import": "imp", "api": "api"}
UTM_SOURCES = [
    ("google", "cpc"),
    ("linkedin", "social"),
    ("facebook", "social"),
    ("bing", "cpc"),
    ("newsletter", "email"),
    ("partner", "referral"),
    ("google", "organic"),
]
UTM_CAMPAIGNS = [
    "brand-search",
    "spring-launch-2025",
    "retargeting-q3",
    "webinar-series",
    "black-friday-2024",
    "crm-comparison",
    "free-trial",
    "enterprise-abm",
]
UTM_TERMS = ["crm software", "lead management", "sales pipeline tool", "lead scoring", ""]
JOB_TITLES = [
    "CEO",
    "CTO",
    "CFO",
    "COO",
    "Founder",
    "Co-founder",
    "Head of Sales",
    "VP Sales",
    "Sales Manager",
    "Account Executive",
    "Marketing Manager",
    "Head of Marketing",
    "Growth Lead",
    "Operations Manager",
    "IT Manager",
    "Procurement Manager",
    "Office Manager",
    "Software Engineer",
    "Product Manager",
    "Customer Success Manager",
    "Business Analyst",
    "Director of Operations",
    "HR Manager",
    "Consultant",
    "Purchasing Agent",
    "Project Manager",
    "Finance Director",
    "Owner",
    "Managing Director",
    "",
]
LANDING_PAGES = ["/pricing", "/features", "/demo", "/blog/lead-scoring", "/integrations", "/customers"]

# COPY column order (no id: identity; no search_text: generated by the database).
