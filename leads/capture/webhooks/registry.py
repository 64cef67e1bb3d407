"""The providers by WebhookSource.Provider value."""

from ...models import WebhookSource
from .base import Provider
from .calendly import CalendlyProvider
from .generic import GenericProvider
from .google_ads import GoogleAdsProvider
from .intercom import IntercomProvider
from .meta import MetaProvider
from .typeform import TypeformProvider
from .unbounce import UnbounceProvider
from .zoom import ZoomProvider

PROVIDERS: dict[str, Provider] = {
    provider.key: provider
    for provider in (
        GenericProvider(),
        TypeformProvider(),
        ZoomProvider(),
        CalendlyProvider(),
        IntercomProvider(),
        MetaProvider(),
        GoogleAdsProvider(),
        UnbounceProvider(),
    )
}


def provider_for(source: WebhookSource) -> Provider:
    """The provider that knows how this source's tool signs and what it sends."""
    return PROVIDERS.get(source.provider) or PROVIDERS[WebhookSource.Provider.GENERIC]
