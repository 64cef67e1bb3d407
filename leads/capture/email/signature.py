"""What a message's signature says about its sender: phone, company and job title, and the
first and last name in a From display name."""

import re

import phonenumbers
from django.conf import settings
from nameparser import HumanName

SIGNATURE_MAX_LINES = 10
SIGN_OFF_WINDOW = 15  # a sign-off is looked for among the last lines of the unquoted text
QUOTE_HEADER_MAX = 300

_QUOTE_HEADER = re.compile(
    r"^(On\s.+\swrote:|Am\s.+\sschrieb.*:|Le\s.+\sa\s+écrit\s*:|El\s.+\sescribió:|"
    r"-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Ursprüngliche Nachricht\s*-{2,}|_{10,}|Begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_OUTLOOK_HEADER = re.compile(r"^(From|Von|De):\s.+", re.IGNORECASE)
_SIGN_OFF = re.compile(
    r"^(best|best wishes|all the best|kind regards|best regards|warm regards|warmest regards|regards|many thanks|"
    r"thanks|thanks again|thank you|cheers|sincerely|yours sincerely|yours truly|yours|cordially|respectfully|"
    r"mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|beste grüße|liebe grüße|"
    r"gruß|grüße|cordialement|bien cordialement|salutations|saludos|un saludo|atentamente|met vriendelijke groet|"
    r"groeten|distinti saluti|cordiali saluti)[\s,.!\-–—]*$",
    re.IGNORECASE,
)
_COMPANY_SUFFIX = re.compile(
    r"\b(inc|llc|llp|ltd|limited|gmbh|ag|kg|ug|se|sa|sas|sarl|s\.a|bv|b\.v|nv|corp|corporation|co|company|plc|pty|"
    r"oy|ab|a/s|aps|srl|spa|s\.p\.a|kk|group|holdings|technologies|solutions|systems|labs|partners)\.?\s*$",
    re.IGNORECASE,
)
_JOB_TITLE = re.compile(
    r"\b(ceo|cto|cfo|coo|cmo|cio|cpo|vp|svp|evp|president|founder|co-founder|cofounder|owner|partner|director|head|"
    r"manager|lead|engineer|developer|architect|consultant|analyst|specialist|coordinator|officer|executive|"
    r"assistant|administrator|buyer|purchaser|procurement|representative|associate|principal|chief|designer|"
    r"scientist|accountant|controller|geschäftsführer|geschäftsführerin|leiter|leiterin|inhaber|inhaberin|"
    r"prokurist|gérant|gérante|directeur|directrice|responsable|gerente|director[a]?)\b",
    re.IGNORECASE,
)
_CONTACT_LINE = re.compile(r"(@|https?://|www\.|linkedin|twitter|\bfax\b)", re.IGNORECASE)
_TITLE_AT_COMPANY = re.compile(r"^(?P<title>.+?)\s+(?:at|@|bei|chez)\s+(?P<company>.+)$", re.IGNORECASE)
_HONORIFICS = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "sir", "dame", "herr", "frau", "mme", "m", "sr", "sra"})
_SEPARATORS = re.compile(r"\s+[|·•–—-]\s+|,\s+")


def _unquoted_lines(body: str) -> list[str]:
    """The new text of a message: quoted lines and everything after a reply header dropped."""
    lines: list[str] = []
    previous_blank = True
    for line in body.splitlines():
        stripped = line.strip()
        header_like = len(stripped) <= QUOTE_HEADER_MAX  # a bound keeps hostile long lines from backtracking
        if header_like and (
            _QUOTE_HEADER.match(stripped) or (previous_blank and _OUTLOOK_HEADER.match(stripped) and lines)
        ):
            break
        if stripped.startswith(">"):
            continue
        lines.append(line.rstrip())
        previous_blank = not stripped
    return lines


def _signature_lines(body: str) -> list[str]:
    lines = _unquoted_lines(body)
    start = None
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] in ("-- ", "--"):
            start = index + 1
            break
    if start is None:
        non_empty = [i for i, line in enumerate(lines) if line.strip()]
        for index in reversed(non_empty[-SIGN_OFF_WINDOW:]):
            if _SIGN_OFF.match(lines[index].strip()):
                start = index + 1
                break
    if start is None:
        return []
    return [line.strip() for line in lines[start:] if line.strip()][:SIGNATURE_MAX_LINES]


def _phone_regions(email_address: str) -> list[str]:
    default = (getattr(settings, "PHONE_DEFAULT_REGION", None) or "US").upper()
    tld = email_address.rsplit(".", 1)[-1].upper() if "." in email_address else ""
    regions = phonenumbers.SUPPORTED_REGIONS
    return list(dict.fromkeys([r for r in (tld if tld in regions else "", default) if r]))


def _find_phone(lines: list[str], regions: list[str]) -> tuple[str, int | None]:
    for region in regions:
        for index, line in enumerate(lines):
            if re.search(r"\bfax\b", line, re.IGNORECASE):
                continue
            for match in phonenumbers.PhoneNumberMatcher(line, region):
                return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164), index
    return "", None


def _is_name_line(line: str, first_name: str, last_name: str) -> bool:
    """The sender's name on its own ('Jane', 'Dr. Jane Doe'), not a company that shares a word with it."""
    names = {n.lower().strip(".,") for n in (first_name.split() + last_name.split()) if n}
    words = [w.lower().strip(".,") for w in line.split() if w.strip(".,")]
    if not names or not words or _JOB_TITLE.search(line):
        return False
    return all(w in names or w in _HONORIFICS or (len(w) == 1 and w.isalpha()) for w in words) and bool(
        set(words) & names
    )


def _title_and_company(text: str, first_name: str, last_name: str) -> tuple[str, str]:
    """Split 'Title at Company', 'Title, Company' or 'Name | Title | Company'."""
    match = _TITLE_AT_COMPANY.match(text)
    if match and _JOB_TITLE.search(match["title"]):
        return match["title"].strip(), match["company"].strip()
    parts = [part.strip() for part in _SEPARATORS.split(text) if part.strip()]
    if len(parts) < 2:
        return "", ""
    parts = [part for part in parts if not _is_name_line(part, first_name, last_name)]
    titles = [part for part in parts if _JOB_TITLE.search(part) and not _COMPANY_SUFFIX.search(part)]
    others = [part for part in parts if part not in titles]
    if not titles:
        return "", ""
    companies = [part for part in others if _COMPANY_SUFFIX.search(part)] or (others if len(others) == 1 else [])
    return titles[0], companies[0] if companies else ""


def signature_extract(
    *, body: str, first_name: str = "", last_name: str = "", email_address: str = ""
) -> dict[str, str]:
    """Phone, company and job title found in a message's signature (after '-- ' or a sign-off)."""
    lines = _signature_lines(body)
    if not lines:
        return {}
    found: dict[str, str] = {}
    phone, phone_line = _find_phone(lines, _phone_regions(email_address))
    if phone:
        found["phone"] = phone
    candidates = []
    for index, line in enumerate(lines):
        if index == phone_line or _CONTACT_LINE.search(line) or _is_name_line(line, first_name, last_name):
            continue
        if sum(ch.isdigit() for ch in line) > 5 or len(line) > 80:  # addresses, numbers, prose
            continue
        candidates.append(line)
    title = company = ""
    for line in candidates:
        split_title, split_company = _title_and_company(line, first_name, last_name)
        if split_title and not title:
            title, company = split_title, company or split_company
        elif _COMPANY_SUFFIX.search(line) and not company:
            company = line
        elif _JOB_TITLE.search(line) and not title:
            title = line
    if title and not company:
        # "Jane Doe / Head of Sales / Acme Widgets": the line after the title names the company.
        after = candidates[candidates.index(title) + 1 :] if title in candidates else []
        if after and not _JOB_TITLE.search(after[0]) and not _SIGN_OFF.match(after[0]):
            company = after[0]
    if title:
        found["job_title"] = title.strip(" ,|")[:200]
    if company:
        found["company"] = company.strip(" ,|")[:200]
    return found


def name_split(display_name: str) -> tuple[str, str]:
    """First and last name from a From display name ('Doe, Jane' and 'Dr. Jane Doe' too)."""
    if not display_name or "@" in display_name:
        return "", ""
    name = HumanName(display_name)
    name.capitalize(force=False)  # only changes ALL CAPS or all lower-case names
    first = " ".join(part for part in (name.first, name.middle) if part)
    last = " ".join(part for part in (name.last, name.suffix) if part)
    return first[:150], last[:150]
