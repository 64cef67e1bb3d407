"""From the phone number (phonenumbers' offline data): country, region or city where the number
tells, time zone, and line type."""

import phonenumbers
from phonenumbers import PhoneNumberType, geocoder
from phonenumbers import timezone as phone_timezone

from .base import LeadFacts, Provider, Suggestion

LINE_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PREMIUM_RATE: "other",
    PhoneNumberType.SHARED_COST: "other",
    PhoneNumberType.PERSONAL_NUMBER: "other",
    PhoneNumberType.UAN: "other",
}


class PhoneProvider(Provider):
    name = "phone"
    fills = ("country", "region", "city", "time_zone", "phone_line_type")
    needs = ("phone",)

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        try:
            number = phonenumbers.parse(facts.get("phone"), None)
        except phonenumbers.NumberParseException:
            return []
        if not phonenumbers.is_valid_number(number):
            return []
        suggestions = []
        country = phonenumbers.region_code_for_number(number)
        if country and country != "001":
            suggestions.append(Suggestion("country", country, 0.9, "from phone number"))
        line_type = LINE_TYPES.get(phonenumbers.number_type(number))
        if line_type:
            suggestions.append(Suggestion("phone_line_type", line_type, 0.9, "from phone number"))
        zones = [zone for zone in phone_timezone.time_zones_for_number(number) if zone != "Etc/Unknown"]
        if len(zones) == 1:
            suggestions.append(Suggestion("time_zone", zones[0], 0.8, "from phone number"))
        # Geographic numbers name a place: "London", or "San Francisco, CA".
        place = geocoder.description_for_number(number, "en")
        country_name = geocoder.country_name_for_number(number, "en")
        if place and place != country_name:
            if ", " in place:
                city, region = place.rsplit(", ", 1)
                suggestions.append(Suggestion("city", city, 0.6, "from phone area code"))
                suggestions.append(Suggestion("region", region, 0.6, "from phone area code"))
            else:
                suggestions.append(Suggestion("city", place, 0.55, "from phone area code"))
        return suggestions
