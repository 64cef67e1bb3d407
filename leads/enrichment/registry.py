"""Which providers run, in order (later providers see what earlier ones filled)."""

from django.conf import settings
from django.utils.module_loading import import_string

from .providers.base import Provider

DEFAULT_PROVIDERS = [
    "leads.enrichment.providers.name.NameProvider",
    "leads.enrichment.providers.email.EmailProvider",
    "leads.enrichment.providers.phone.PhoneProvider",
    "leads.enrichment.providers.ip.IpProvider",
    "leads.enrichment.providers.location.LocationProvider",
    "leads.enrichment.providers.job_title.JobTitleProvider",
    "leads.enrichment.providers.website.WebsiteProvider",  # network: off unless ENRICHMENT_WEBSITE_ENABLED
    "leads.enrichment.providers.paid_api.PaidApiProvider",  # network: off without ENRICHMENT_API_KEY
]


def providers_active(*, offline_only: bool = False) -> list[Provider]:
    """The configured providers (settings.ENRICHMENT_PROVIDERS), instantiated in order."""
    paths = getattr(settings, "ENRICHMENT_PROVIDERS", None) or DEFAULT_PROVIDERS
    providers = [import_string(path)() for path in paths]
    return [p for p in providers if not (offline_only and p.network)]
