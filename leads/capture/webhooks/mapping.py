"""Mappings: from a provider's JSON to lead fields. A mapping is a JSON object from a lead field
(or `attributes.<name>`, or `full_name`, which is split into first and last name) to a rule:

- `"contact.email"`: a dotted path; parts are keys, list indexes (`answers.0.value`, negative from
  the end) or a pick from a list by a key's value (`answers[type=email].email`,
  `user_column_data[column_id=EMAIL].string_value`; the key may be dotted: `[field.ref=company]`);
- `["a.email", "b.email"]` or `{"first": [...]}`: the first path that has a value;
- `{"join": ["first", "last"], "sep": " "}`: the values found, joined;
- `{"value": "facebook"}`: a constant (a source, a campaign, a tag).
"""

import re
from typing import Any

from nameparser import HumanName

from ..cleaning import CAPTURE_FIELDS

MAPPING_NOT_OBJECT = "The mapping must be a JSON object: lead field → dotted path."
MAPPING_BAD_FIELD = "Not a lead field: {name}. Use one of {choices}, or attributes.<name>."
MAPPING_BAD_PATH = "The path for {name} must be a non-empty dotted path, e.g. contact.email or answers.0.value."
MAPPING_BAD_RULE = (
    'The rule for {name} must be a dotted path, a list of paths, {{"first": [paths]}}, '
    '{{"join": [paths], "sep": " "}} or {{"value": constant}}.'
)
TAGS_NOT_LIST = "Default tags must be a list of text."

ATTRIBUTE_PREFIX = "attributes."
FULL_NAME = "full_name"
MAPPABLE_FIELDS = sorted(CAPTURE_FIELDS - {"attributes"})
_MISSING = object()
_PART = re.compile(r"^(?P<name>[^\[\]]*)(?:\[(?P<key>[^\[\]=]+)=(?P<value>[^\[\]]*)\])?$")


def _split_path(path: str) -> list[str] | None:
    """Dotted parts, keeping dots inside [..] filters; None when the brackets do not pair up."""
    parts, depth, current = [], 0, ""
    for char in path:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                return None
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        return None
    parts.append(current)
    return parts


def _step(current: Any, name: str) -> Any:
    if isinstance(current, dict):
        return current.get(name, _MISSING)
    if isinstance(current, list) and name.lstrip("-").isdigit() and len(name) < 10:
        index = int(name)
        return current[index] if -len(current) <= index < len(current) else _MISSING
    return _MISSING


def json_path_get(data: Any, path: str) -> Any:
    """The value at a dotted path (`contact.email`, `answers.0.value`, `answers[type=email].email`),
    or None when absent."""
    parts = _split_path(path) if path else None
    if not parts:
        return None
    current = data
    for part in parts:
        match = _PART.match(part)
        if match is None:
            return None
        if match["name"]:
            current = _step(current, match["name"])
        if match["key"] is not None:
            if not isinstance(current, list):
                return None
            wanted = match["value"]
            current = next(
                (item for item in current if _scalar_text(json_path_get(item, match["key"])) == wanted), _MISSING
            )
        if current is _MISSING:
            return None
    return current


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (str, int, float)) else None


def _path_ok(path: Any) -> bool:
    if not isinstance(path, str) or not path.strip():
        return False
    parts = _split_path(path.strip())
    return bool(parts) and all(part and _PART.match(part) for part in parts)


def _rule_validate(name: str, rule: Any) -> Any:
    if isinstance(rule, str):
        if not _path_ok(rule):
            raise ValueError(MAPPING_BAD_PATH.format(name=name))
        return rule.strip()
    if isinstance(rule, list):
        rule = {"first": rule}
    if not isinstance(rule, dict) or len(set(rule) - {"sep"}) != 1:
        raise ValueError(MAPPING_BAD_RULE.format(name=name))
    if "value" in rule:
        if isinstance(rule["value"], (dict, list)) or len(rule) != 1:
            raise ValueError(MAPPING_BAD_RULE.format(name=name))
        return rule
    key = "first" if "first" in rule else "join" if "join" in rule else None
    paths = rule.get(key) if key else None
    if not isinstance(paths, list) or not paths or len(paths) > 20:
        raise ValueError(MAPPING_BAD_RULE.format(name=name))
    if not all(_path_ok(path) for path in paths):
        raise ValueError(MAPPING_BAD_PATH.format(name=name))
    if "sep" in rule and (key != "join" or not isinstance(rule["sep"], str)):
        raise ValueError(MAPPING_BAD_RULE.format(name=name))
    return {**rule, key: [path.strip() for path in paths]}


def webhook_mapping_validate(*, mapping: Any) -> dict[str, Any]:
    """Check a source's mapping (lead field, attributes.<name> or full_name → rule); raise ValueError."""
    if not isinstance(mapping, dict):
        raise ValueError(MAPPING_NOT_OBJECT)
    checked = {}
    for name, rule in mapping.items():
        attribute = name.removeprefix(ATTRIBUTE_PREFIX) if name.startswith(ATTRIBUTE_PREFIX) else None
        if (attribute is None and name not in MAPPABLE_FIELDS and name != FULL_NAME) or attribute == "":
            raise ValueError(MAPPING_BAD_FIELD.format(name=name, choices=", ".join([*MAPPABLE_FIELDS, FULL_NAME])))
        checked[name] = _rule_validate(name, rule)
    return checked


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != []


def mapping_value(payload: Any, rule: Any) -> Any:
    """The value one rule picks from the payload (None when nothing is there)."""
    if isinstance(rule, str):
        return json_path_get(payload, rule)
    if isinstance(rule, list):
        rule = {"first": rule}
    if not isinstance(rule, dict):
        return None
    if "value" in rule:
        return rule["value"]
    if isinstance(rule.get("first"), list):
        for path in rule["first"]:
            value = json_path_get(payload, path) if isinstance(path, str) else None
            if _present(value):
                return value
        return None
    if isinstance(rule.get("join"), list):
        found = [json_path_get(payload, path) for path in rule["join"] if isinstance(path, str)]
        texts = [str(value).strip() for value in found if _present(value) and not isinstance(value, (dict, list))]
        sep = rule.get("sep") if isinstance(rule.get("sep"), str) else " "
        return sep.join(text for text in texts if text) or None
    return None


def name_split(full_name: str) -> tuple[str, str]:
    """(first, last) of a name as people write it ("Dana Whitfield", "Whitfield, Dana", "Dr. Ada K. Lovelace")."""
    name = HumanName(full_name.strip())
    first = " ".join(part for part in (name.first, name.middle) if part)
    last = " ".join(part for part in (name.last, name.suffix) if part)
    if not first and not last:
        return full_name.strip(), ""
    return first or last, last if first else ""


def webhook_map(*, source, payload: dict, mapping: dict | None = None) -> dict[str, Any]:
    """Lead data from a payload through a mapping (the source's, else its provider's default), with
    the source's default tags."""
    data: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    full_name = None
    for name, rule in (mapping if mapping is not None else source.mapping or {}).items():
        value = mapping_value(payload, rule)
        if not _present(value):
            continue
        if name.startswith(ATTRIBUTE_PREFIX):
            attributes[name.removeprefix(ATTRIBUTE_PREFIX)] = value
        elif name == FULL_NAME:
            full_name = value
        else:
            data[name] = value
    if isinstance(full_name, str) and full_name.strip():
        # A mapped first or last name wins; the split only fills what is missing.
        first, last = name_split(full_name)
        if not data.get("first_name") and not data.get("last_name"):
            data["first_name"], data["last_name"] = first, last
            if not last:
                del data["last_name"]
    if attributes:
        data["attributes"] = attributes
    tags = [tag for tag in (source.default_tags or []) if isinstance(tag, str)]
    if tags:
        mapped = data.get("tags")
        if isinstance(mapped, str):
            mapped = [mapped]
        data["tags"] = [*tags, *mapped] if isinstance(mapped, list) else tags
    return data
