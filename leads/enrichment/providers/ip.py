"""From the IP address of the lead's last capture (web form, tracking): the country from the
offline database shipped in geoip2fast, and the time zone where the country has only one.
(geoip2fast ships country data; city-level data is not in the package, so no city is guessed.)"""

import ipaddress
from functools import lru_cache

from geoip2fast import GeoIP2Fast

from ...common.timezones import single_time_zone
from .base import LeadFacts, Provider, Suggestion


@lru_cache(maxsize=1)
def geoip() -> GeoIP2Fast:
    """The IPv4+IPv6 country database, loaded once per process (~0.1 s)."""
    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz", verbose=False)


class IpProvider(Provider):
    name = "ip"
    fills = ("country", "time_zone")
    needs = ()

    def applicable(self, facts: LeadFacts) -> bool:
        return bool(facts.ip)

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        try:
            address = ipaddress.ip_address(facts.ip)
        except ValueError:
            return []
        if not address.is_global:
            return []
        result = geoip().lookup(str(address))
        country = getattr(result, "country_code", "") or ""
        if len(country) != 2 or not country.isalpha():
            return []
        suggestions = [Suggestion("country", country, 0.7, "from IP address")]
        zone = single_time_zone(country)
        if zone:
            suggestions.append(Suggestion("time_zone", zone, 0.6, "from IP address country"))
        return suggestions
