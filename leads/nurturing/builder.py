"""The segment builder's plain HTML form: a condition tree as flat form fields and back.

Every node of the tree has a path: the root group is "r", its children "r.0", "r.1", a child of a
nested group "r.1.0". The form posts `node` once per node (in tree order) and, per node,
`<path>-type` ("group" or "cond"), `<path>-match`, or `<path>-field`, `<path>-op`, `<path>-value`
(several for "one of"), `<path>-key`, `<path>-days`. Adding and removing rows are submit buttons
(`action=add:<path>`, `addgroup:<path>`, `remove:<path>`), so the builder works without JavaScript;
segment_builder.js only sends the same form with htmx and keeps the focus in place.
"""

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q

from ..models import Segment, Team
from ..roles import MARKETERS, SALES_MANAGERS, SALES_REPS
from .segments import (
    FIELDS,
    LIST_VALUE_KINDS,
    MATCHES,
    MAX_DEPTH,
    NO_TEAM,
    NO_VALUE_OPS,
    NULL_OPS,
    OP_LABELS,
    UNASSIGNED,
    field_groups,
)

ROOT = "r"
DEFAULT_FIELD = "status"
MAX_NODES = 300  # a tampered form cannot make the parser do unbounded work


def _new_condition(name: str = DEFAULT_FIELD) -> dict:
    return {"field": name, "op": FIELDS[name].operators()[0], "value": ""}


def _new_group() -> dict:
    return {"match": "all", "conditions": [_new_condition()]}


def builder_parse(*, data) -> dict:
    """The raw (uncleaned) definition a builder form posted."""
    root: dict[str, Any] = {"match": data.get(f"{ROOT}-match", "all"), "conditions": []}
    nodes: dict[str, dict] = {ROOT: root}
    for path in data.getlist("node")[:MAX_NODES]:
        parent_path, _, _ = path.rpartition(".")
        parent = nodes.get(parent_path)
        if path == ROOT or parent is None or "conditions" not in parent:
            continue
        if data.get(f"{path}-type") == "group":
            node: dict[str, Any] = {"match": data.get(f"{path}-match", "all"), "conditions": []}
        else:
            name = data.get(f"{path}-field", "")
            spec = FIELDS.get(name)
            values = [v for v in data.getlist(f"{path}-value")]
            node = {"field": name, "op": data.get(f"{path}-op", "")}
            if spec is not None and node["op"] not in spec.operators():
                node["op"] = spec.operators()[0]  # the field changed: its first operator
            if spec is not None and spec.kind in LIST_VALUE_KINDS:
                node["value"] = [v for v in values if v != ""] if spec.kind != "choice" else values
            else:
                node["value"] = values[0] if values else ""
            for extra in ("key", "days"):
                if f"{path}-{extra}" in data:
                    node[extra] = data.get(f"{path}-{extra}", "")
        parent["conditions"].append(node)
        nodes[path] = node
    return root


def _at(definition: dict, path: str) -> tuple[dict | None, list | None, int]:
    """The node at `path`, the list holding it, and its position there."""
    node, holder, index = definition, None, -1
    for part in path.split(".")[1:]:
        if not (part.isascii() and part.isdigit()) or "conditions" not in node or int(part) >= len(node["conditions"]):
            return None, None, -1
        holder, index = node["conditions"], int(part)
        node = holder[index]
    return node, holder, index


def builder_apply(*, definition: dict, action: str) -> dict:
    """Apply an add/remove button to a raw definition (in place; returned)."""
    verb, _, path = action.partition(":")
    node, holder, index = _at(definition, path or ROOT)
    if node is None:
        return definition
    if verb == "add" and "conditions" in node:
        node["conditions"].append(_new_condition())
    elif verb == "addgroup" and "conditions" in node and path.count(".") + 1 < MAX_DEPTH:
        node["conditions"].append(_new_group())
    elif verb == "remove" and holder is not None:
        del holder[index]
    return definition


def builder_options(*, segment: Segment | None) -> dict[str, list[tuple[str, str]]]:
    """The choices the owner, team and segment selects offer (three queries, once per page)."""
    people = (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[SALES_REPS, SALES_MANAGERS, MARKETERS]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )
    segments = Segment.objects.order_by("name")
    if segment is not None and segment.pk:
        segments = segments.exclude(pk=segment.pk)
    return {
        "owner": [(UNASSIGNED, "(unassigned)")]
        + [(str(pk), name) for pk, name in people.values_list("pk", "username")],
        "team": [(NO_TEAM, "(no team)")] + [(str(pk), name) for pk, name in Team.objects.values_list("pk", "name")],
        "segment": [
            (str(pk), f"{name} ({Segment.Kind(kind).label.lower()})")
            for pk, name, kind in segments.values_list("pk", "name", "kind")
        ],
    }


def _json_path(path: str) -> str:
    return ".".join(f"conditions.{part}" for part in path.split(".")[1:])


def _errors_for(errors: dict[str, list[str]], prefix: str, name: str) -> list[str]:
    key = f"{prefix}.{name}" if prefix else name
    return list(errors.get(key, []))


def _widget(spec, op: str) -> str:
    """Which value input a condition shows."""
    if op in NO_VALUE_OPS or op in NULL_OPS:
        return "none"
    if spec.kind == "engagement":
        return "text" if spec.needs_value else "none"
    if spec.kind == "date":
        return "date" if op in ("before", "after") else "none"
    return {
        "text": "text",
        "attribute": "text",
        "tags": "text",
        "number": "number",
        "choice": "multi",
        "owner": "multi",
        "team": "multi",
        "segment": "select",
    }.get(spec.kind, "text")


def builder_nodes(
    *, definition: dict, errors: dict[str, list[str]], options: dict, path: str = ROOT, depth: int = 1
) -> dict:
    """The tree as the template renders it: each node with its inputs, choices and error messages."""
    prefix = _json_path(path)
    group_errors = list(errors.get(prefix or "definition", [])) + _errors_for(errors, prefix, "conditions")
    children = []
    for position, child in enumerate(definition.get("conditions") or []):
        child_path = f"{path}.{position}"
        if isinstance(child, dict) and "conditions" in child:
            children.append(
                builder_nodes(
                    definition=child,
                    errors=errors,
                    options=options,
                    path=child_path,
                    depth=depth + 1,
                )
            )
        elif isinstance(child, dict):
            children.append(_condition_node(child, child_path, errors, options))
    return {
        "type": "group",
        "path": path,
        "match": definition.get("match", "all"),
        "matches": MATCHES,
        "children": children,
        "errors": group_errors,
        "match_errors": _errors_for(errors, prefix, "match"),
        "depth": depth,
        "is_root": path == ROOT,
        "can_nest": depth < MAX_DEPTH,
    }


def _condition_node(condition: dict, path: str, errors: dict[str, list[str]], options: dict) -> dict:
    prefix = _json_path(path)
    name = condition.get("field")
    spec = FIELDS.get(name) or FIELDS[DEFAULT_FIELD]
    op = condition.get("op") if condition.get("op") in spec.operators() else spec.operators()[0]
    raw = condition.get("value")
    values = [str(v) for v in raw] if isinstance(raw, list) else ([] if raw in (None, "") else [str(raw)])
    choices = list(spec.choices) if spec.kind == "choice" else options.get(spec.kind, [])
    return {
        "type": "cond",
        "path": path,
        "field": name if name in FIELDS else DEFAULT_FIELD,
        "field_groups": field_groups(),
        "op": op,
        "ops": [(o, OP_LABELS[o]) for o in spec.operators()],
        "widget": _widget(spec, op),
        "value": values[0] if values else "",
        "values": values,
        "choices": choices,
        "integer": spec.integer,
        "show_key": spec.kind == "attribute",
        "key": condition.get("key", ""),
        "show_days": spec.kind == "engagement" or op in ("within_last_days", "more_than_days_ago"),
        "days": condition.get("days", 30 if condition.get("days") is None else condition.get("days")),
        "errors": {part: _errors_for(errors, prefix, part) for part in ("field", "op", "value", "key", "days")},
        "node_errors": list(errors.get(prefix, [])),
    }
