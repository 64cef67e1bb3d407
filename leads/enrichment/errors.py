"""Errors shared by the enrichment providers and the safe fetcher they use (one module both
import, so the fetcher does not reach into the providers package)."""


class ProviderUnavailable(Exception):
    """A provider could not answer right now (timeout, rate limit, server error). The run goes
    on without it; a later re-enrichment (enrich_leads --stale) asks again."""
