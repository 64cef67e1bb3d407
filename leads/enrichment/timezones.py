"""Country and place → IANA time zone, from the tz database's own zone.tab (tzdata package)."""
import importlib.resources
from functools import lru_cache


@lru_cache(maxsize=1)
def zones_by_country() -> dict[str, list[tuple[str, str]]]:
    """ISO country code → [(zone, comment)] from tzdata's zone.tab."""
    table: dict[str, list[tuple[str, str]]] = {}
    text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            table.setdefault(parts[0], []).append((parts[2], parts[3] if len(parts) > 3 else ""))
    return table


def country_time_zone(country: str) -> tuple[str, float]:
    """(zone, confidence) for a whole country: its only zone, or the one zone.tab says covers
    "most of" it (Germany: Europe/Berlin, not Europe/Busingen); ('', 0) when that is ambiguous (US)."""
    zones = zones_by_country().get((country or "").upper(), [])
    if len(zones) == 1:
        return zones[0][0], 0.9
    most = [zone for zone, comment in zones if "most" in comment.lower()]
    return (most[0], 0.8) if len(most) == 1 else ("", 0.0)


def single_time_zone(country: str) -> str:
    """The country's zone when one zone covers (most of) it, else ''."""
    return country_time_zone(country)[0]


def _simple(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def zone_for_place(country: str, *, region: str = "", city: str = "") -> tuple[str, float]:
    """(zone, confidence) for a place: a single-zone country is certain; otherwise a zone named
    after the city (America/Chicago) or whose description mentions the region or city."""
    zones = zones_by_country().get((country or "").upper(), [])
    if len(zones) == 1:
        return zones[0][0], 0.9
    for place, confidence in ((city, 0.75), (region, 0.6)):
        key = _simple(place)
        if len(key) < 3:
            continue
        for zone, _comment in zones:
            if _simple(zone.rsplit("/", 1)[-1]) == key:
                return zone, confidence
        for zone, comment in zones:
            if key in _simple(comment):
                return zone, confidence - 0.1
    return country_time_zone(country)
