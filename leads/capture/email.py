"""The email channel: one raw RFC 822 message in, one decision out.

A message from an unknown sender makes a lead; one from a known lead, a reply to mail we
sent, and copies to known leads go onto their timelines. Bounces, auto-replies, list mail
and our own outgoing mail make no lead (a bounce flags the lead's address). A message we
cannot read reliably is stored for review. Every message leaves a CaptureRecord with its
raw text and an InboundEmail whose unique Message-ID makes ingestion idempotent.

The pipe (manage.py ingest_email), the API (POST /api/v1/capture/email) and the IMAP
poller (leads.capture.imap) all call email_ingest().
"""
import base64
import codecs
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.errors import (
    HeaderParseError, MessageError, MultipartInvariantViolationDefect, NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

import phonenumbers
from bs4 import BeautifulSoup
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from nameparser import HumanName

from ..models import CaptureRecord, InboundEmail, Interaction, Lead, Mailbox, OutboundMessage
from ..normalize import normalize_email
from ..services import interaction_record, lead_enqueue_processing
from .service import CaptureContext, CaptureEvent, capture, capture_ignore, capture_log

logger = logging.getLogger(__name__)

# Why a message was stored as malformed (tests assert on these).
NO_SENDER = "No usable From address."
BROKEN_MIME = "Broken MIME structure: {defects}."
UNKNOWN_CHARSET = "Unknown charset: {charset}."
UNPARSEABLE = "The message could not be parsed: {error}."
TOO_MANY_PARTS = "More than {max} nested parts: too deeply nested to read."
EMPTY_MESSAGE = "The message is empty."
STORE_FAILED = "Could not be processed ({error}); stored for review."

# Problems we work around; they are noted on the InboundEmail but the message is processed.
NUL_REMOVED = "NUL bytes removed."
BYTES_REPLACED = "Bytes invalid in {charset} replaced."
TEXT_READ_AS = "Text labelled {declared} was not; read as {charset}."
HEADER_8BIT = "Raw 8-bit bytes in headers decoded as {charset}."
NO_MESSAGE_ID = "No Message-ID: a hash of the content stands in."
COMPAT_FALLBACK = "Read with the compat32 parser (policy.default failed: {error})."

# Reasons on the CaptureRecord of messages that make no lead.
REASON_OWN = "our own outgoing mail"
REASON_BOUNCE = "bounce / delivery report"
REASON_AUTO_REPLY = "auto-reply"
REASON_LIST = "mailing-list traffic"

BODY_MAX_CHARS = 100_000  # a timeline entry, not an archive: the raw message keeps everything
SIGNATURE_MAX_LINES = 10
SIGN_OFF_WINDOW = 15  # a sign-off is looked for among the last lines of the unquoted text
MESSAGE_ID_MAX = 998
QUOTE_HEADER_MAX = 300

# The stdlib parser registers most problems as defects, but some hostile headers still
# raise one of these from deep inside email._header_value_parser.
PARSER_ERRORS = (
    HeaderParseError, MessageError, IndexError, ValueError, TypeError, AttributeError, LookupError, UnicodeError,
    AssertionError,
)
FATAL_DEFECTS = (NoBoundaryInMultipartDefect, StartBoundaryNotFoundDefect, MultipartInvariantViolationDefect)

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_NEWLINES = re.compile(r"[\r\n]")
_SURROGATE = re.compile("[\udc80-\udcff]")
_ANY_SURROGATE = re.compile("[\ud800-\udfff]")
_NESTING = re.compile(rb"boundary\s*=|content-type\s*:\s*message/", re.IGNORECASE)
# The stdlib parser recurses once per nested multipart: thousands of levels were a RecursionError.
# Real mail nests a handful (forwarded chains a few dozen).
MAX_MULTIPART_BOUNDARIES = 200

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


@dataclass
class ParsedEmail:
    """What the channel reads from one message."""

    message_id: str = ""
    from_name: str = ""
    from_address: str = ""
    recipients: list[str] = field(default_factory=list)  # To and Cc addresses
    subject: str = ""
    date: datetime | None = None
    references: list[str] = field(default_factory=list)  # In-Reply-To first, then References, newest first
    body: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # the few that classify a message, lower-cased names
    content_type: str = ""
    report_type: str = ""
    delivery_status: list[dict[str, str]] = field(default_factory=list)  # one dict per DSN recipient
    problems: list[str] = field(default_factory=list)  # worked around
    fatal: str = ""  # why the message is stored as malformed ("" if readable)


@dataclass
class EmailIngestResult:
    """What became of one message."""

    kind: str
    lead: Lead | None = None
    created: bool = False
    duplicate: bool = False
    inbound: InboundEmail | None = None
    record: CaptureRecord | None = None
    linked_leads: list[int] = field(default_factory=list)
    reason: str = ""


# --- Parsing ------------------------------------------------------------------------------


def _strip_nul(text: str) -> str:
    """Without NUL, and with lone surrogates (an encoded word that decodes to "\\ud800", or bytes
    the parser escaped) replaced: the database can store neither."""
    return _ANY_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def _from_8bit(value: str, problems: list[str]) -> str:
    """Headers with raw 8-bit bytes come out of the bytes parser as surrogate escapes:
    read them as UTF-8 when they are, else as Windows-1252 (what such senders mean)."""
    if not _SURROGATE.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        text = data.decode("utf-8")
        charset = "UTF-8"
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")
        charset = "Windows-1252"
    note = HEADER_8BIT.format(charset=charset)
    if note not in problems:
        problems.append(note)
    return text


def _raw_values(msg: Message, name: str, problems: list[str]) -> list[str]:
    """Every value of a header, unfolded, with 8-bit bytes decoded."""
    return [
        _strip_nul(_NEWLINES.sub("", _from_8bit(str(value), problems)))
        for key, value in msg.raw_items()
        if key.lower() == name
    ]


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words the compat32 way (the fallback for headers policy.default chokes on)."""
    try:
        return str(make_header(decode_header(value)))
    except PARSER_ERRORS:
        return value


def _text_header(msg: Message, name: str, problems: list[str], *, compat: bool) -> str:
    values = _raw_values(msg, name, problems)
    if not values:
        return ""
    if not compat:
        try:
            return _strip_nul(str(policy.default.header_factory(name, values[0])))
        except PARSER_ERRORS:
            pass
    return _strip_nul(_decode_words(values[0]))


def _address_header(msg: Message, name: str, problems: list[str], *, compat: bool) -> list[tuple[str, str]]:
    """(display name, address) pairs; addresses lower-cased, names decoded."""
    found: list[tuple[str, str]] = []
    for value in _raw_values(msg, name, problems):
        pairs: list[tuple[str, str]] | None = None
        if not compat:
            try:
                header = policy.default.header_factory(name, value)
                pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
            except PARSER_ERRORS:
                pairs = None
        if pairs is None:
            pairs = [(_decode_words(display), address) for display, address in getaddresses([value])]
        found += [(" ".join(_strip_nul(display).split()), normalize_email(_strip_nul(address))) for display, address in pairs]
    return found


def _valid_address(address: str) -> bool:
    if not address or "@" not in address:
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _message_ids(values: list[str]) -> list[str]:
    ids: list[str] = []
    for value in values:
        found = _MESSAGE_ID.findall(value)
        if not found and value.strip() and " " not in value.strip():
            found = [value.strip().strip("<>")]  # some mailers drop the angle brackets
        ids += [f"<{mid}>"[:MESSAGE_ID_MAX] for mid in found]
    return ids


def _date(msg: Message, problems: list[str]) -> datetime | None:
    values = _raw_values(msg, "date", problems)
    if not values:
        return None
    try:
        parsed = parsedate_to_datetime(values[0])
    except PARSER_ERRORS:
        return None
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed, timezone.utc)
    return parsed


def _children(part: Message) -> list[Message]:
    """The sub-parts of a multipart; message/* parts are leaves (a forwarded mail is an attachment)."""
    if part.get_content_maintype() == "message" or not part.is_multipart():
        return []
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


def _leaves(msg: Message) -> list[Message]:
    stack, leaves = [msg], []
    while stack:
        part = stack.pop(0)
        children = _children(part)
        if children:
            stack[:0] = children
        else:
            leaves.append(part)
    return leaves


def _all_defects(msg: Message) -> list:
    defects, stack = [], [msg]
    while stack:
        part = stack.pop()
        defects += list(getattr(part, "defects", []))
        stack += _children(part)
    return defects


def _part_text(part: Message, parsed: ParsedEmail) -> str:
    """Decode one text part. An unknown charset makes the message malformed (we cannot read it
    reliably); bytes invalid in a known charset are replaced and noted."""
    data = part.get_payload(decode=True) or b""
    if not isinstance(data, bytes):
        data = str(data).encode("utf-8", "surrogateescape")
    declared = (part.get_content_charset() or "").strip().lower()
    if declared in ("", "us-ascii", "ascii"):
        declared = "utf-8"
    try:
        codecs.lookup(declared)
    except LookupError:
        parsed.fatal = parsed.fatal or UNKNOWN_CHARSET.format(charset=declared[:60])
        return ""
    try:
        return data.decode(declared)
    except UnicodeDecodeError:
        pass
    if codecs.lookup(declared).name == "utf-8":
        # 8-bit text labelled (or defaulting to) UTF-8 is nearly always Windows-1252 in truth.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            parsed.problems.append(TEXT_READ_AS.format(declared=declared, charset="Windows-1252"))
            return text
    parsed.problems.append(BYTES_REPLACED.format(charset=declared))
    return data.decode(declared, "replace")


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: block elements and <br> become line breaks."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"]):
        block.append("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _read_body(msg: Message, parsed: ParsedEmail) -> None:
    plain = html = None
    for part in _leaves(msg):
        content_type = part.get_content_type()
        filename = part.get_filename()
        is_attachment = part.get_content_disposition() == "attachment" or bool(filename)
        if not is_attachment and content_type == "text/plain" and plain is None:
            plain = part
        elif not is_attachment and content_type == "text/html" and html is None:
            html = part
        elif part is not msg and content_type not in ("message/delivery-status", "text/rfc822-headers"):
            payload = part.get_payload(decode=True) if part.get_content_maintype() != "message" else None
            parsed.attachments.append({
                "filename": _strip_nul(_decode_words(filename or ""))[:255],
                "content_type": content_type,
                "size": len(payload) if isinstance(payload, bytes) else None,
            })
    if plain is not None:
        text = _part_text(plain, parsed)
    elif html is not None:
        text = html_to_text(_part_text(html, parsed))
    else:
        text = ""
    parsed.body = _strip_nul(text).replace("\r\n", "\n").strip()


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # Some servers send the report with a transfer encoding the parser did not split.
    data = part.get_payload(decode=True) or b""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)
    return [HeaderParser().parsestr(block) for block in re.split(r"\r?\n\s*\r?\n", text) if block.strip()]


def _read_delivery_status(msg: Message, parsed: ParsedEmail) -> None:
    for part in _leaves(msg):
        if part.get_content_type() == "message/feedback-report":
            # A complaint (ARF, RFC 5965): the address that marked our mail as spam.
            for block in _status_blocks(part):
                recipient = str(block.get("Original-Rcpt-To") or "")
                if recipient:
                    parsed.delivery_status.append({
                        "recipient": normalize_email(recipient.strip().strip("<>")), "action": "complaint",
                        "status": "", "diagnostic": str(block.get("Feedback-Type") or "abuse").strip()[:100],
                    })
            continue
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _status_blocks(part):
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            if not recipient:
                continue
            address = normalize_email(recipient.split(";", 1)[-1].strip().strip("<>"))
            parsed.delivery_status.append({
                "recipient": address,
                "action": str(block.get("Action") or "").strip().lower(),
                "status": str(block.get("Status") or "").strip(),
                "diagnostic": " ".join(_strip_nul(str(block.get("Diagnostic-Code") or "")).split())[:500],
            })


def _read(msg: Message, parsed: ParsedEmail, *, compat: bool) -> None:
    problems = parsed.problems
    froms = [(name, address) for name, address in _address_header(msg, "from", problems, compat=compat) if address]
    if froms:
        parsed.from_name, parsed.from_address = froms[0]
    for header in ("to", "cc"):
        parsed.recipients += [address for _, address in _address_header(msg, header, problems, compat=compat)]
    parsed.subject = " ".join(_text_header(msg, "subject", problems, compat=compat).split())
    ids = _message_ids(_raw_values(msg, "message-id", problems))
    parsed.message_id = ids[0] if ids else ""
    in_reply_to = _message_ids(_raw_values(msg, "in-reply-to", problems))
    references = list(reversed(_message_ids(_raw_values(msg, "references", problems))))
    parsed.references = list(dict.fromkeys(in_reply_to + references))
    parsed.date = _date(msg, problems)
    for name in ("auto-submitted", "precedence", "list-id", "x-autoreply", "x-autorespond", "return-path"):
        values = _raw_values(msg, name, problems)
        if values:
            parsed.headers[name] = values[0].strip()
    parsed.content_type = msg.get_content_type()
    parsed.report_type = str(msg.get_param("report-type") or "").lower() if parsed.content_type == "multipart/report" else ""
    defects = [defect for defect in _all_defects(msg) if isinstance(defect, FATAL_DEFECTS)]
    if defects:
        parsed.fatal = BROKEN_MIME.format(defects=", ".join(sorted({type(d).__name__ for d in defects})))
        return
    _read_body(msg, parsed)
    if parsed.report_type in ("delivery-status", "feedback-report"):
        _read_delivery_status(msg, parsed)
    if not parsed.fatal and not _valid_address(parsed.from_address):
        parsed.fatal = NO_SENDER


def email_parse(*, raw: bytes) -> ParsedEmail:
    """Read one raw message (policy.default, compat32 as the fallback); `fatal` says why it is unreadable."""
    parsed = ParsedEmail()
    if not raw.strip():
        parsed.fatal = EMPTY_MESSAGE
        return parsed
    if b"\x00" in raw:
        parsed.problems.append(NUL_REMOVED)
    if len(_NESTING.findall(raw)) > MAX_MULTIPART_BOUNDARIES:
        parsed.fatal = TOO_MANY_PARTS.format(max=MAX_MULTIPART_BOUNDARIES)
        return parsed
    try:
        _read(BytesParser(policy=policy.default).parsebytes(raw), parsed, compat=False)
        return parsed
    except RecursionError:  # nested beyond what the boundary count caught (message/rfc822 parts)
        parsed.fatal = TOO_MANY_PARTS.format(max=MAX_MULTIPART_BOUNDARIES)
        return parsed
    except PARSER_ERRORS as exc:
        logger.info("policy.default could not read a message (%s); trying compat32", exc)
        error = f"{type(exc).__name__}: {exc}"[:200]
    fallback = ParsedEmail(problems=[p for p in parsed.problems if p == NUL_REMOVED] + [COMPAT_FALLBACK.format(error=error)])
    try:
        _read(BytesParser(policy=policy.compat32).parsebytes(raw), fallback, compat=True)
    except RecursionError:
        fallback.fatal = TOO_MANY_PARTS.format(max=MAX_MULTIPART_BOUNDARIES)
    except PARSER_ERRORS as exc:
        fallback.fatal = UNPARSEABLE.format(error=f"{type(exc).__name__}: {exc}"[:300])
    return fallback


# --- Signatures ---------------------------------------------------------------------------


def _unquoted_lines(body: str) -> list[str]:
    """The new text of a message: quoted lines and everything after a reply header dropped."""
    lines: list[str] = []
    previous_blank = True
    for line in body.splitlines():
        stripped = line.strip()
        header_like = len(stripped) <= QUOTE_HEADER_MAX  # a bound keeps hostile long lines from backtracking
        if header_like and (_QUOTE_HEADER.match(stripped) or (previous_blank and _OUTLOOK_HEADER.match(stripped) and lines)):
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
    return all(w in names or w in _HONORIFICS or (len(w) == 1 and w.isalpha()) for w in words) and bool(set(words) & names)


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


def signature_extract(*, body: str, first_name: str = "", last_name: str = "", email_address: str = "") -> dict[str, str]:
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
        after = candidates[candidates.index(title) + 1:] if title in candidates else []
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


# --- Classification -----------------------------------------------------------------------


def own_addresses() -> set[str]:
    """Addresses that are us: DEFAULT_FROM_EMAIL, SERVER_EMAIL and the mailboxes' usernames."""
    addresses = {normalize_email(parseaddr(settings.DEFAULT_FROM_EMAIL)[1])}
    addresses.add(normalize_email(parseaddr(getattr(settings, "SERVER_EMAIL", ""))[1]))
    addresses |= {normalize_email(u) for u in Mailbox.objects.filter(username__contains="@").values_list("username", flat=True)}
    return {address for address in addresses if address}


def _id_variants(ids: list[str]) -> list[str]:
    """Message-IDs as stored by us (with angle brackets) and by others (without)."""
    return [*ids, *(mid[1:-1] for mid in ids if mid.startswith("<") and mid.endswith(">"))]


def _is_auto_reply(parsed: ParsedEmail) -> bool:
    auto_submitted = parsed.headers.get("auto-submitted", "").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    for name in ("x-autoreply", "x-autorespond"):
        if name in parsed.headers and parsed.headers[name].lower() not in ("no", "false", "0"):
            return True
    return parsed.headers.get("precedence", "").lower() == "auto_reply" or parsed.report_type == "disposition-notification"


def _is_bounce(parsed: ParsedEmail) -> bool:
    if parsed.content_type == "multipart/report" and parsed.report_type != "disposition-notification":
        return True
    local = parsed.from_address.split("@", 1)[0]
    return local in ("mailer-daemon", "postmaster") and parsed.headers.get("return-path", "").strip() in ("<>", "")


def _is_list(parsed: ParsedEmail) -> bool:
    return "list-id" in parsed.headers or parsed.headers.get("precedence", "").lower() in ("bulk", "list", "junk")


def _thread_lead(parsed: ParsedEmail) -> Lead | None:
    """The lead of the thread this message answers: our sent mail first, then earlier inbound mail."""
    if not parsed.references:
        return None
    order = {mid: rank for rank, mid in enumerate(parsed.references)}
    variants = _id_variants(parsed.references)
    sent = OutboundMessage.objects.filter(message_id__in=variants).values_list("message_id", "lead_id")
    received = (
        InboundEmail.objects.filter(message_id__in=variants, lead__isnull=False).values_list("message_id", "lead_id")
    )
    for rows in (sent, received):
        matches = sorted(rows, key=lambda row: order.get(row[0], order.get(f"<{row[0]}>", len(order))))
        if matches:
            return Lead.objects.filter(pk=matches[0][1]).first()
    return None


# --- Ingestion ----------------------------------------------------------------------------


def _raw_text(raw: bytes) -> tuple[str, bool]:
    """The raw message as text for the capture log, and whether that text is lossless."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), False
    return text, "\x00" not in text


def _content_id(raw: bytes) -> str:
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def _occurred_at(parsed: ParsedEmail) -> datetime:
    """The Date header when it is plausible; a forged or broken one must not skew activity dates."""
    now = timezone.now()
    if parsed.date and now - timedelta(days=365) <= parsed.date <= now:
        return parsed.date
    return now


def _event_data(parsed: ParsedEmail, inbound: InboundEmail, mailbox: Mailbox | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": parsed.message_id, "from": parsed.from_address, "inbound_email": inbound.pk,
        "recipients": parsed.recipients[:50],
    }
    if mailbox:
        data["mailbox"] = mailbox.name
    if parsed.references:
        data["in_reply_to"] = parsed.references[0]
    if parsed.attachments:
        data["attachments"] = parsed.attachments[:50]
    return data


def _lead_data(parsed: ParsedEmail) -> dict[str, Any]:
    first, last = name_split(parsed.from_name)
    data = {"email": parsed.from_address, "first_name": first, "last_name": last}
    data.update(signature_extract(body=parsed.body, first_name=first, last_name=last, email_address=parsed.from_address))
    return {key: value for key, value in data.items() if value}


def _link_copies(
    parsed: ParsedEmail, *, addresses: set[str], inbound: InboundEmail, exclude: set[int], mailbox: Mailbox | None
) -> list[int]:
    """Known leads among the copied addresses get the message on their timelines too."""
    addresses = {address for address in addresses if address}
    if not addresses:
        return []
    linked = []
    for lead in Lead.objects.filter(email__in=addresses).exclude(pk__in=exclude).order_by("pk"):
        interaction_record(
            lead=lead, kind=Interaction.Kind.EMAIL_IN, channel=Lead.Source.EMAIL, subject=parsed.subject,
            body=parsed.body[:BODY_MAX_CHARS], occurred_at=_occurred_at(parsed),
            data={**_event_data(parsed, inbound, mailbox), "copied": True},
        )
        linked.append(lead.pk)
    return linked


def _mark_bounces(parsed: ParsedEmail, inbound: InboundEmail) -> list[Lead]:
    from ..nurturing.sending import lead_email_bounced

    failed = [
        entry for entry in parsed.delivery_status
        if entry["action"] == "failed" or (not entry["action"] and entry["status"].startswith("5"))
    ]
    bounced = []
    for entry in failed:
        lead = Lead.objects.filter(email=entry["recipient"]).first() if entry["recipient"] else None
        if lead is None:
            continue
        Lead.objects.filter(pk=lead.pk).update(email_bouncing=True, updated_at=timezone.now())
        lead.email_bouncing = True
        interaction_record(
            lead=lead, kind=Interaction.Kind.EVENT, channel=Lead.Source.EMAIL,
            subject=f"Email to {entry['recipient']} bounced", body=entry["diagnostic"],
            data={"bounce": True, "status": entry["status"], "action": entry["action"], "inbound_email": inbound.pk},
        )
        lead_email_bounced(lead=lead, email=entry["recipient"])  # suppressed; the lead leaves its sequences
        bounced.append(lead)
    for entry in (entry for entry in parsed.delivery_status if entry["action"] == "complaint"):
        lead = Lead.objects.filter(email=entry["recipient"]).first()
        if lead is None:
            continue
        interaction_record(
            lead=lead, kind=Interaction.Kind.EVENT, channel=Lead.Source.EMAIL,
            subject=f"Spam complaint from {entry['recipient']}", data={"complaint": entry["diagnostic"], "inbound_email": inbound.pk},
        )
        lead_email_bounced(lead=lead, email=entry["recipient"], complaint=True)
        bounced.append(lead)
    return bounced


def _classify(parsed: ParsedEmail, own: set[str]) -> str:
    if parsed.fatal:
        return InboundEmail.Kind.MALFORMED
    if parsed.from_address in own or (
        parsed.message_id and OutboundMessage.objects.filter(message_id__in=_id_variants([parsed.message_id])).exists()
    ):
        return InboundEmail.Kind.OWN
    if _is_bounce(parsed):
        return InboundEmail.Kind.BOUNCE
    if _is_auto_reply(parsed):
        return InboundEmail.Kind.AUTO_REPLY
    if _is_list(parsed):
        return InboundEmail.Kind.LIST
    return InboundEmail.Kind.NEW_LEAD  # refined to known lead or reply once the leads are looked up


def _claim(*, message_id: str, parsed: ParsedEmail, kind: str, mailbox: Mailbox | None) -> InboundEmail | None:
    """Insert the InboundEmail row first: its unique Message-ID decides which of two concurrent
    ingestions of one message goes on (None: it was taken before)."""
    error = parsed.fatal or " ".join(parsed.problems)
    try:
        with transaction.atomic():
            return InboundEmail.objects.create(
                message_id=message_id, mailbox=mailbox, from_address=parsed.from_address[:254],
                subject=parsed.subject[:300], kind=kind, error=error,
            )
    except IntegrityError:
        return None


def _duplicate(message_id: str) -> EmailIngestResult:
    existing = InboundEmail.objects.select_related("lead").get(message_id=message_id)
    return EmailIngestResult(kind=existing.kind, lead=existing.lead, duplicate=True, inbound=existing, reason="already taken")


def _ingest(parsed: ParsedEmail, *, message_id: str, context: CaptureContext, mailbox: Mailbox | None) -> EmailIngestResult:
    if InboundEmail.objects.filter(message_id=message_id).exists():
        return _duplicate(message_id)
    own = own_addresses()
    kind = _classify(parsed, own)
    sender_lead = thread_lead = None
    if kind == InboundEmail.Kind.NEW_LEAD:
        thread_lead = _thread_lead(parsed)
        sender_lead = Lead.objects.filter(email=parsed.from_address).first()
        kind = (
            InboundEmail.Kind.REPLY if thread_lead else InboundEmail.Kind.KNOWN_LEAD if sender_lead else InboundEmail.Kind.NEW_LEAD
        )
    inbound = _claim(message_id=message_id, parsed=parsed, kind=kind, mailbox=mailbox)
    if inbound is None:
        return _duplicate(message_id)
    context.payload = {**context.payload, "kind": kind, "inbound_email": inbound.pk}
    result = EmailIngestResult(kind=kind, inbound=inbound)

    if kind == InboundEmail.Kind.MALFORMED:
        result.record = capture_log(context=context, result=CaptureRecord.Result.FAILED, reason=f"malformed: {parsed.fatal}")
        result.reason = parsed.fatal
        logger.warning("malformed email %s stored for review: %s", message_id, parsed.fatal)
    elif kind in (InboundEmail.Kind.OWN, InboundEmail.Kind.AUTO_REPLY, InboundEmail.Kind.LIST):
        reason = {InboundEmail.Kind.OWN: REASON_OWN, InboundEmail.Kind.AUTO_REPLY: REASON_AUTO_REPLY}.get(kind, REASON_LIST)
        known = Lead.objects.filter(email=parsed.from_address).first() if kind != InboundEmail.Kind.OWN else None
        result.record = capture_ignore(context=context, reason=reason, lead=known)
        result.lead, result.reason = known, reason
    elif kind == InboundEmail.Kind.BOUNCE:
        bounced = _mark_bounces(parsed, inbound)
        addresses = ", ".join(lead.email for lead in bounced)
        reason = f"{REASON_BOUNCE}: {addresses} bouncing" if bounced else REASON_BOUNCE
        result.record = capture_ignore(context=context, reason=reason, lead=bounced[0] if bounced else None)
        result.lead, result.reason = (bounced[0] if bounced else None), reason
        result.linked_leads = [lead.pk for lead in bounced[1:]]
    else:
        event = CaptureEvent(
            kind=Interaction.Kind.EMAIL_IN, subject=parsed.subject, body=parsed.body[:BODY_MAX_CHARS],
            data=_event_data(parsed, inbound, mailbox), occurred_at=_occurred_at(parsed),
        )
        if thread_lead is not None and thread_lead.email != parsed.from_address:
            # Someone else answered our thread (a colleague, a private address): the thread's
            # lead gets it; the sender's details are not that lead's, so nothing is merged.
            interaction_record(
                lead=thread_lead, kind=event.kind, channel=Lead.Source.EMAIL, subject=event.subject,
                body=event.body, data=event.data, occurred_at=event.occurred_at,
            )
            result.record = capture_log(context=context, result=CaptureRecord.Result.ATTACHED, lead=thread_lead)
            lead_enqueue_processing(lead_id=thread_lead.pk)
            result.lead = thread_lead
        else:
            captured = capture(
                data=_lead_data(parsed), context=context, event=event, strict=False,
                team_id=mailbox.team_id if mailbox else None,
            )
            result.lead, result.created, result.record = captured.lead, captured.created, captured.record
            if kind == InboundEmail.Kind.NEW_LEAD and not captured.created:
                result.kind = InboundEmail.Kind.KNOWN_LEAD  # a concurrent message created the lead first
            elif kind == InboundEmail.Kind.KNOWN_LEAD and captured.created:
                result.kind = InboundEmail.Kind.NEW_LEAD
        if not result.created:
            from ..nurturing.sequences import lead_enrollments_exit  # a reply ends the nurturing

            lead_enrollments_exit(lead_id=result.lead.pk, reason="replied")
        copies = {address for address in parsed.recipients if address not in own}
        if sender_lead is not None and sender_lead.pk != result.lead.pk:
            copies.add(sender_lead.email)  # the sender is a lead too, but not the thread's
        copies.discard(result.lead.email)
        result.linked_leads = _link_copies(parsed, addresses=copies, inbound=inbound, exclude={result.lead.pk}, mailbox=mailbox)
    InboundEmail.objects.filter(pk=inbound.pk).update(
        kind=result.kind, lead=result.lead, capture=result.record,
    )
    inbound.kind, inbound.lead, inbound.capture = result.kind, result.lead, result.record
    return result


def email_ingest(
    *,
    raw: bytes,
    mailbox: Mailbox | None = None,
    source_detail: str = "",
    ip: str | None = None,
    user_agent: str = "",
    actor: User | None = None,
) -> EmailIngestResult:
    """Take one raw RFC 822 message through the email channel (idempotent; malformed mail is stored)."""
    parsed = email_parse(raw=raw)
    if not parsed.message_id and not parsed.fatal:
        parsed.problems.append(NO_MESSAGE_ID)
    message_id = parsed.message_id or _content_id(raw)
    raw_text, lossless = _raw_text(raw)
    payload: dict[str, Any] = {
        "message_id": parsed.message_id, "from": parsed.from_address, "from_name": parsed.from_name,
        "recipients": parsed.recipients[:50], "subject": parsed.subject, "size": len(raw),
        "date": parsed.date.isoformat() if parsed.date else None, "problems": parsed.problems,
        "attachments": parsed.attachments[:50],
    }
    if mailbox:
        payload["mailbox"] = mailbox.name
    if not lossless:
        payload["raw_base64"] = base64.b64encode(raw).decode("ascii")  # the text log alone would lose bytes
    context = CaptureContext(
        channel=Lead.Source.EMAIL, source_detail=source_detail or (mailbox.name if mailbox else ""), ip=ip,
        user_agent=user_agent, payload=payload, raw=raw_text, actor=actor,
    )
    try:
        with transaction.atomic():
            return _ingest(parsed, message_id=message_id, context=context, mailbox=mailbox)
    except (DatabaseError, UnicodeEncodeError) as exc:
        # A value the database refused (or could not be sent: a lone surrogate), or a bug in a rule: keep the message for review
        # rather than lose it. A dead connection fails here again and reaches the caller.
        logger.exception("email ingestion failed for %s; storing it as malformed", message_id)
        parsed.fatal = STORE_FAILED.format(error=f"{type(exc).__name__}: {exc}"[:300])
        context.payload = payload
        with transaction.atomic():
            return _ingest(parsed, message_id=message_id, context=context, mailbox=mailbox)
