"""Country and region names as people write them, read with pycountry (ISO 3166 and its
translations), not a hand list: "United States", "USA", "U.S.", "Deutschland", "UK", "Great Britain"."""

import gettext
import re
import unicodedata
from functools import lru_cache

import pycountry
from django_countries import countries

# The catalogs pycountry ships whose country names people type into CRMs most (the languages of
# the teams we serve); each adds its names for every country, e.g. "Deutschland", "España", "Brasil".
NAME_LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "pt_BR", "pl", "sv", "da", "nb", "fi", "cs", "tr")
# ISO 3166-1 reserves these codes for the country they name (UK for the United Kingdom).
RESERVED_CODES = {"UK": "GB", "EL": "GR"}


def _key(text: str) -> str:
    """Case, accents, dots and spacing do not matter: "U.S.", "us" and "España"/"espana" are one."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = re.sub(r"[.'’]", "", folded)
    return " ".join(re.sub(r"[^\w]+", " ", folded).split())


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                index.setdefault(_key(name), country.alpha_2)
        index.setdefault(_key(country.alpha_3), country.alpha_2)
    for language in NAME_LANGUAGES:
        try:
            catalog = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except FileNotFoundError:
            continue
        for country in pycountry.countries:
            index.setdefault(_key(catalog.gettext(country.name)), country.alpha_2)
    return index


@lru_cache(maxsize=4096)
def country_code(text: str) -> str:
    """The ISO 3166-1 alpha-2 code a country name or code stands for, or "" when none is known."""
    key = _key(text)
    if not key:
        return ""
    compact = key.replace(" ", "").upper()
    if len(compact) == 2 and compact.isalpha():
        compact = RESERVED_CODES.get(compact, compact)
        return compact if pycountry.countries.get(alpha_2=compact) else ""
    found = _names().get(key)
    if found:
        return found
    found = countries.by_name(text.strip())
    if found:
        return found
    if len(key) < 4:
        return ""  # too short for a name: a fuzzy search would guess
    try:
        # pycountry's fuzzy search (names, official names, subdivisions): "Great Britain", "England".
        return pycountry.countries.search_fuzzy(key)[0].alpha_2
    except LookupError:
        return ""


@lru_cache(maxsize=1)
def _subdivisions() -> dict[str, dict[str, str]]:
    """Per country: subdivision code (without the country) and name, folded, -> its name."""
    by_country: dict[str, dict[str, str]] = {}
    for subdivision in pycountry.subdivisions:
        index = by_country.setdefault(subdivision.country_code, {})
        index.setdefault(_key(subdivision.code.split("-", 1)[1]), subdivision.name)
        index.setdefault(_key(subdivision.name), subdivision.name)
    return by_country


@lru_cache(maxsize=4096)
def region_name(text: str, country: str) -> str:
    """A state or region as its ISO 3166-2 name ("CA" in the US is "California"), or the text as
    written when the country is unknown or pycountry does not know the region."""
    if not country:
        return text
    return _subdivisions().get(country, {}).get(_key(text), text)
