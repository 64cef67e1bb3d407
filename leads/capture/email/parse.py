"""Reading one raw RFC 822 message: headers (encoded words, raw 8-bit bytes), the body as text,
attachments and delivery reports; what cannot be read reliably is named in `fatal`."""

import codecs
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.errors import (
    HeaderParseError,
    MessageError,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from bs4 import BeautifulSoup
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from ...common.normalize import normalize_email

logger = logging.getLogger(__name__)

# Why a message was stored as malformed (tests assert on these).
NO_SENDER = "No usable From address."
BROKEN_MIME = "Broken MIME structure: {defects}."
UNKNOWN_CHARSET = "Unknown charset: {charset}."
UNPARSEABLE = "The message could not be parsed: {error}."
TOO_MANY_PARTS = "More than {max} nested parts: too deeply nested to read."
EMPTY_MESSAGE = "The message is empty."

# Problems we work around; they are noted on the InboundEmail but the message is processed.
NUL_REMOVED = "NUL bytes removed."
BYTES_REPLACED = "Bytes invalid in {charset} replaced."
TEXT_READ_AS = "Text labelled {declared} was not; read as {charset}."
HEADER_8BIT = "Raw 8-bit bytes in headers decoded as {charset}."
NO_MESSAGE_ID = "No Message-ID: a hash of the content stands in."
COMPAT_FALLBACK = "Read with the compat32 parser (policy.default failed: {error})."

MESSAGE_ID_MAX = 998

# The stdlib parser registers most problems as defects, but some hostile headers still
# raise one of these from deep inside email._header_value_parser.
PARSER_ERRORS = (
    HeaderParseError,
    MessageError,
    IndexError,
    ValueError,
    TypeError,
    AttributeError,
    LookupError,
    UnicodeError,
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
        found += [
            (" ".join(_strip_nul(display).split()), normalize_email(_strip_nul(address))) for display, address in pairs
        ]
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
            parsed.attachments.append(
                {
                    "filename": _strip_nul(_decode_words(filename or ""))[:255],
                    "content_type": content_type,
                    "size": len(payload) if isinstance(payload, bytes) else None,
                }
            )
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
                    parsed.delivery_status.append(
                        {
                            "recipient": normalize_email(recipient.strip().strip("<>")),
                            "action": "complaint",
                            "status": "",
                            "diagnostic": str(block.get("Feedback-Type") or "abuse").strip()[:100],
                        }
                    )
            continue
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _status_blocks(part):
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            if not recipient:
                continue
            address = normalize_email(recipient.split(";", 1)[-1].strip().strip("<>"))
            parsed.delivery_status.append(
                {
                    "recipient": address,
                    "action": str(block.get("Action") or "").strip().lower(),
                    "status": str(block.get("Status") or "").strip(),
                    "diagnostic": " ".join(_strip_nul(str(block.get("Diagnostic-Code") or "")).split())[:500],
                }
            )


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
    for name in (
        "auto-submitted",
        "precedence",
        "list-id",
        "x-autoreply",
        "x-autorespond",
        "return-path",
        "delivered-to",
        "x-original-to",
        "envelope-to",  # the logging address of a BCC copy (leads.capture.email.logged)
    ):
        values = _raw_values(msg, name, problems)
        if values:
            parsed.headers[name] = values[0].strip()
    parsed.content_type = msg.get_content_type()
    parsed.report_type = (
        str(msg.get_param("report-type") or "").lower() if parsed.content_type == "multipart/report" else ""
    )
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
    fallback = ParsedEmail(
        problems=[p for p in parsed.problems if p == NUL_REMOVED] + [COMPAT_FALLBACK.format(error=error)]
    )
    try:
        _read(BytesParser(policy=policy.compat32).parsebytes(raw), fallback, compat=True)
    except RecursionError:
        fallback.fatal = TOO_MANY_PARTS.format(max=MAX_MULTIPART_BOUNDARIES)
    except PARSER_ERRORS as exc:
        fallback.fatal = UNPARSEABLE.format(error=f"{type(exc).__name__}: {exc}"[:300])
    return fallback
