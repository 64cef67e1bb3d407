"""The email channel: one raw RFC 822 message in, one decision out.

A message from an unknown sender makes a lead; one from a known lead, a reply to mail we
sent, and copies to known leads go onto their timelines. Bounces, auto-replies, list mail
and our own outgoing mail make no lead (a bounce flags the lead's address). A message we
cannot read reliably is stored for review. Every message leaves a CaptureRecord with its
raw text and an InboundEmail whose unique Message-ID makes ingestion idempotent.

The pipe (manage.py ingest_email), the API (POST /api/v1/capture/email) and the IMAP
poller (leads.capture.email.imap) all call email_ingest().

The parts, each importing from the others directly (this module only re-exports for callers):
  parse.py      reading the message: headers, body text, attachments, delivery reports
  signature.py  phone, company and job title from the signature; names from the From header
  classify.py   own mail, bounce, auto-reply, list traffic, or a lead's (and a reply's thread)
  ingest.py     email_ingest: claim the Message-ID, capture or attach, bounces, copies
  imap.py       polling the IMAP mailboxes (not imported here: it needs imap-tools)
"""

from .classify import own_addresses
from .ingest import STORE_FAILED, EmailIngestResult, email_ingest
from .parse import (
    BROKEN_MIME,
    BYTES_REPLACED,
    COMPAT_FALLBACK,
    EMPTY_MESSAGE,
    HEADER_8BIT,
    NO_MESSAGE_ID,
    NO_SENDER,
    NUL_REMOVED,
    TEXT_READ_AS,
    UNKNOWN_CHARSET,
    UNPARSEABLE,
    ParsedEmail,
    email_parse,
    html_to_text,
)
from .signature import name_split, signature_extract

__all__ = [
    "BROKEN_MIME",
    "BYTES_REPLACED",
    "COMPAT_FALLBACK",
    "EMPTY_MESSAGE",
    "HEADER_8BIT",
    "NO_MESSAGE_ID",
    "NO_SENDER",
    "NUL_REMOVED",
    "STORE_FAILED",
    "TEXT_READ_AS",
    "UNKNOWN_CHARSET",
    "UNPARSEABLE",
    "EmailIngestResult",
    "ParsedEmail",
    "email_ingest",
    "email_parse",
    "html_to_text",
    "name_split",
    "own_addresses",
    "signature_extract",
]
