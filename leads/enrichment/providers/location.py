"""Location → time zone (country, region and city), from the tz database."""

from ...common.timezones import zone_for_place
from .base import LeadFacts, Provider, Suggestion


class LocationProvider(Provider):
    name = "location"
    fills = ("time_zone",)
    needs = ("country",)

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        zone, confidence = zone_for_place(str(facts.get("country")), region=facts.get("region"), city=facts.get("city"))
        return [Suggestion("time_zone", zone, confidence, "from location")] if zone else []
