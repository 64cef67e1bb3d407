"""Django's form renderer, with its select, option and input widget templates done in Python.

The templates render each <option> through an {% include %} and each attribute through a loop:
the lead list's filter form (twelve fields, three multiple-choice selects) took ~4 ms of a ~40 ms
page (bench/README.md). This renderer writes the same HTML, byte for byte, for exactly those
templates, from the context Django builds for them; any other template (a custom widget, an
option with its own template, a label that is not text) goes to Django's own templates as before.
tests/operations/test_form_renderer.py renders many widgets both ways and compares them."""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
INPUTS = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        *("input", "text", "number", "email", "url", "password", "hidden", "date", "datetime", "time"),
        *("search", "tel", "color", "file", "checkbox"),
    )
)
# No installed app overrides these templates (the test checks): otherwise its version must win.


class _Fallback(Exception):
    """The context holds something the Python writer does not render as the template would."""


def _text(value) -> str:
    """{{ value }} of a string: escaped unless already safe. Anything else: the template decides
    (a number would be localised)."""
    if isinstance(value, Promise):  # a lazy translation
        value = str(value)
    if not isinstance(value, str):
        raise _Fallback
    return conditional_escape(value)


def _formatted(value) -> str:
    """{{ value|stringformat:'s' }}: str() of it, escaped unless it was safe (stringformat keeps that)."""
    text = str(value)
    return text if isinstance(value, SafeData) else conditional_escape(text)


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: ` name="value"`, ` name` for True, nothing for False."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {conditional_escape(name)}")
        if value is not True:
            out.append(f'="{_formatted(value)}"')
    return "".join(out)


def _option(option: dict) -> str:
    if option.get("template_name") != OPTION:
        raise _Fallback
    return f'<option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>{_text(option["label"])}</option>\n'


def _select(widget: dict) -> str:
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            parts.append("\n  " + _option(option))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _input(widget: dict) -> str:
    value = widget["value"]
    shown = "" if value is None else f' value="{_formatted(value)}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'


class FastWidgetRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        widget = context.get("widget") if isinstance(context, dict) else None
        if widget is not None:
            try:
                if template_name == SELECT:
                    return _select(widget)
                if template_name in INPUTS and widget.get("template_name") == template_name:
                    return _input(widget)
            except (_Fallback, KeyError):
                pass
        return super().render(template_name, context, request)
