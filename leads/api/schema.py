"""The OpenAPI schema tells the truth about errors: every operation declares the 4xx answers the
framework gives it whatever the view says (drf-spectacular documents only what a view declares).

- 400 where a body or query parameters are parsed (per-field errors, or the edge parser's message),
- 401 and 403 where credentials are required (no credentials; a role that may not),
- 404 on paths with an id (absent, or not visible to the caller) and on pages past the end,
- 409 on lead writes (the email or external id belongs to another lead),
- 413 and 415 where a body is taken (too large; a media type the endpoint does not parse),
- 429 where a throttle or rate limit applies.
Declared responses are kept; only missing ones are added.
"""

from typing import Any

ERROR_DESCRIPTIONS = {
    "400": 'Bad input: {"<field>": ["message", …]} (or {"detail": …})',
    "401": 'No or invalid credentials: {"detail": …}',
    "403": 'Your role may not do this: {"detail": …}',
    "404": "Not found, or not visible to you",
    "409": "Conflicts with another lead (email or external id)",
    "413": 'Body too large: {"detail": …, "max_bytes": …}',
    "415": 'Unsupported media type: {"detail": …}',
    "429": 'Too many requests: {"detail": …}',
}
WRITES = frozenset({"post", "put", "patch"})
LEAD_WRITE_PATHS = ("/api/v1/leads", "/api/v1/leads/{id}")
THROTTLED_PATHS = ("/api/v1/auth/token", "/api/v1/capture/webhook/{key}")


def _codes(path: str, method: str, operation: dict[str, Any]) -> set[str]:
    codes = set()
    has_body = "requestBody" in operation or method in WRITES
    if has_body or any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])):
        codes.add("400")
    if operation.get("security"):  # absent for the public operations (auth=[])
        codes |= {"401", "403"}
    if "{" in path or any(parameter.get("name") == "page" for parameter in operation.get("parameters", [])):
        codes.add("404")  # an id not visible to the caller, or a page past the end
    if has_body:
        codes |= {"413", "415"}
    if path in LEAD_WRITE_PATHS and method in WRITES:
        codes.add("409")
    if path in THROTTLED_PATHS:
        codes.add("429")
    return codes


def declare_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the missing error responses to every operation."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code in sorted(_codes(path, method, operation)):
                operation["responses"].setdefault(code, {"description": ERROR_DESCRIPTIONS[code]})
    return result
