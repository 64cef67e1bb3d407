"""JSON from clients, parsed once at the edge so that nothing a client sends can become a 500
(and the API's answers, encoded by orjson: FastJSONRenderer).

Every body we parse (the REST API's parser, the web form, tracking, webhooks, segment previews)
goes through json_loads_safe. It refuses, with a message (and the field when there is one):
- nesting deeper than MAX_DEPTH (Python's parser recurses: 100,000 levels were a RecursionError),
- NaN, Infinity and numbers that overflow to them (1e400), which PostgreSQL's jsonb refuses,
- integers beyond 64 bits (no column holds them; 5,000 digits were a ValueError deep inside),
- lone surrogates ("\\ud800"), which cannot be encoded to UTF-8 for the database,
- NUL in an object key (a NUL in a value is each field's own per-field error).
"""

import json
import math
import re
from itertools import accumulate
from typing import Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.utils import encoders

MAX_DEPTH = 64
MAX_INT = 2**63 - 1

BODY_NOT_UTF8 = "The body is not valid UTF-8 text."
BODY_NOT_JSON = "The body is not valid JSON."
TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels is not accepted."
NUMBER_TOO_LARGE = "Numbers must be finite and fit in 64 bits."
LONE_SURROGATE = "Text must be valid Unicode: lone surrogates (\\ud800–\\udfff) are not allowed."
NUL_IN_KEY = "Keys must not contain NUL characters."

NON_FIELD = "non_field_errors"
# Not JSON at all (as opposed to JSON we refuse): channels answer these with their own message.
UNPARSABLE = frozenset({BODY_NOT_UTF8, BODY_NOT_JSON})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONRejected(ValueError):
    """The body cannot be taken: `message` says why, `field` is the dotted path it is about (or None)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field

    def as_dict(self) -> dict[str, list[str]]:
        """The per-field error body: {field or non_field_errors: [message]}."""
        return {self.field or NON_FIELD: [self.message]}


def json_depth(text: str) -> int:
    """How deep the brackets of a JSON text nest, counted without recursion (strings skipped)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(_STEP[char] for char in brackets), default=0)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise JSONRejected(NUMBER_TOO_LARGE)
    value = int(text)
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise JSONRejected(NUMBER_TOO_LARGE)
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRejected(NUMBER_TOO_LARGE)
    return value


def _constant(name: str) -> None:
    raise JSONRejected(NUMBER_TOO_LARGE)


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    for key, _value in pairs:
        if "\x00" in key:
            raise JSONRejected(NUL_IN_KEY)
    return dict(pairs)


def text_problem(value: Any) -> JSONRejected | None:
    """The first lone surrogate anywhere in parsed JSON (keys and values), with its dotted path."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return JSONRejected(LONE_SURROGATE, path or None)
        elif isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else key
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return JSONRejected(LONE_SURROGATE, path or None)
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{index}" if path else str(index), child) for index, child in enumerate(item))
    return None


def json_loads_safe(body: bytes | str) -> Any:
    """The parsed body, or JSONRejected saying (per field where it can) what is wrong with it."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONRejected(BODY_NOT_UTF8) from None
    if json_depth(body) > MAX_DEPTH:
        raise JSONRejected(TOO_DEEP)
    try:
        data = json.loads(body, parse_int=_int, parse_float=_float, parse_constant=_constant, object_pairs_hook=_pairs)
    except JSONRejected:
        raise
    except (
        ValueError,
        RecursionError,
    ):  # JSONDecodeError is a ValueError; RecursionError cannot happen after the depth check
        raise JSONRejected(BODY_NOT_JSON) from None
    problem = text_problem(data)
    if problem is not None:
        raise problem
    return data


class SafeJSONParser(JSONParser):
    """DRF's JSON parser through json_loads_safe: a 400 with the field's message, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        try:
            return json_loads_safe(body)
        except JSONRejected as exc:
            raise ParseError(exc.as_dict()) from None


class RawJSON:
    """A value already written as JSON text (a list row's `attributes`, as PostgreSQL stores them:
    leads.api.serializers.page_values): FastJSONRenderer places it as it is; DRF's own encoder (an
    indented answer, the browsable API) decodes it first."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class _Encoder(encoders.JSONEncoder):
    """DRF's encoder, which also writes RawJSON."""

    def default(self, obj):
        if type(obj) is RawJSON:
            return json.loads(obj.text)
        return super().default(obj)


def _orjson_default(obj):
    if type(obj) is RawJSON:
        return orjson.Fragment(obj.text)
    return _DRF_ENCODER.default(obj)


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, encoded by orjson: a 500-lead page took 4.3 ms in json.dumps and 0.3 ms
    in orjson (bench/README.md, issue 22 §1). The output is DRF's: compact, UTF-8, times as DRF's
    encoder writes them (`Z` for UTC), U+2028/U+2029 escaped (one difference: a float written with
    an exponent below -9 loses the exponent's leading zero, 1e-7 for 1e-07); what orjson does not know (a
    Decimal, a lazy translation, a generator) goes through DRF's encoder, and anything orjson
    refuses (an integer beyond 64 bits), or an indented answer, is DRF's own rendering."""

    encoder_class = _Encoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        plain = self.compact and not self.ensure_ascii
        if not plain or self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_orjson_default, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:
            body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return body


_DRF_ENCODER = encoders.JSONEncoder()
_ORJSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
