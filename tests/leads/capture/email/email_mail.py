"""Mail for the email channel's tests: the corpus in emails/ and small messages built inline."""

from pathlib import Path

from leads.models import CaptureRecord, InboundEmail, Interaction, Lead

EMAILS = Path(__file__).parent / "emails"
API_URL = "/api/v1/capture/email"


def corpus(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def message(
    *,
    sender: str = "Ann Example <ann@example-co.example>",
    headers: str = "",
    body: str = "Hello there.",
    message_id: str = "<m1@example-co.example>",
) -> bytes:
    """A small message for the cases the corpus does not need a file for."""
    lines = [f"From: {sender}", "To: sales@leadcrm.test", "Subject: Hello"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += [h for h in headers.splitlines() if h.strip()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


def counts() -> tuple[int, int, int, int]:
    return (
        Lead.objects.count(),
        Interaction.objects.count(),
        CaptureRecord.objects.count(),
        InboundEmail.objects.count(),
    )
