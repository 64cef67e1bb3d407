"""Shared by the provider tests: the documented payloads and each provider's signing, computed the
way the provider's documentation says (never through our own code)."""

import base64
import hashlib
import hmac
import json
from pathlib import Path

PAYLOADS = Path(__file__).parent / "provider_payloads"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def raw(data: dict) -> bytes:
    # Spaced and ordered the way the tools send it; the bytes are what is signed.
    return json.dumps(data, indent=1).encode()


def typeform_headers(secret: str, body: bytes) -> dict:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"HTTP_TYPEFORM_SIGNATURE": f"sha256={digest}"}


def zoom_headers(secret: str, body: bytes, timestamp: int) -> dict:
    message = f"v0:{timestamp}:".encode() + body
    return {
        "HTTP_X_ZM_REQUEST_TIMESTAMP": str(timestamp),
        "HTTP_X_ZM_SIGNATURE": "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
    }


def calendly_headers(secret: str, body: bytes, timestamp: int) -> dict:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_CALENDLY_WEBHOOK_SIGNATURE": f"t={timestamp},v1={digest}"}


def intercom_headers(secret: str, body: bytes) -> dict:
    return {"HTTP_X_HUB_SIGNATURE": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def meta_headers(secret: str, body: bytes) -> dict:
    return {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def deliver(client, source, body: bytes, content_type: str = "application/json", **headers):
    return client.generic("POST", f"/api/v1/capture/webhook/{source.key}", body, content_type=content_type, **headers)
