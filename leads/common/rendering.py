"""Rendering emails from templates people write, in a sandbox: sequence steps (nurturing), the rep's
templates and placeholders (rep_email) and automation emails all use this one engine.

Subjects and bodies are Django template syntax, compiled by an engine of their own that knows only
a few harmless tags and filters: no {% load %}, {% include %}, {% extends %}, {% debug %}, no
loaders at all. The context holds plain dicts of strings, never model objects, and every variable
a template names is checked against the allowed fields before it renders, so a typo or an attempt
to reach `lead.owner` is an error the editor shows, not a silent blank.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import FilterExpression, Lexer, TokenType, Variable, VariableNode
from django.template.defaulttags import IfNode

if TYPE_CHECKING:  # the lead is read, never imported: common sits below the models
    from ..models import Lead

# Tags and filters the sandbox knows. Anything else (load, include, extends, debug, ssi, url,
# csrf_token, for, with, templatetag, widthratio…) is refused.
ALLOWED_TAGS = ("if", "elif", "else", "endif", "comment", "endcomment")
ALLOWED_FILTERS = (
    "default",
    "default_if_none",
    "upper",
    "lower",
    "title",
    "capfirst",
    "truncatechars",
    "truncatewords",
    "cut",
    "yesno",
    "length",
    "first",
    "last",
    "urlencode",
)
LEAD_FIELDS = ("first_name", "last_name", "full_name", "company", "job_title", "city", "country")
SENDER_FIELDS = ("name", "email")
ALLOWED_NAMES = (
    *(f"lead.{name}" for name in LEAD_FIELDS),
    *(f"sender.{name}" for name in SENDER_FIELDS),
    "unsubscribe_url",
)

TAG_NOT_ALLOWED = "The tag {{% {tag} %}} is not allowed in emails. Allowed: if, elif, else, comment."
VARIABLE_NOT_ALLOWED = "Unknown or not allowed: {{{{ {name} }}}}. Allowed: {allowed}."
SYNTAX_ERROR = "Template error: {error}"
HEADER_INJECTION = "Line breaks are not allowed in an email header ({field}); check the subject and the lead's name."
SUBJECT_EMPTY = "The subject renders empty."

URL_RE = re.compile(r"""https?://[^\s<>"'`]+""", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?)]}'\""

register = Library()
for _name in ("if", "comment"):
    register.tags[_name] = defaulttags.register.tags[_name]
for _name in ALLOWED_FILTERS:
    register.filters[_name] = defaultfilters.register.filters[_name]


class SandboxEngine(Engine):
    default_builtins = ["leads.common.rendering"]


_engine = SandboxEngine(libraries={}, autoescape=False, debug=False, loaders=[], app_dirs=False)


class RenderError(ValueError):
    """A template the sandbox refuses, or a result that must not be sent; the message is for the editor."""


def _variables_of_expression(expression: FilterExpression):
    if isinstance(expression.var, Variable) and expression.var.lookups is not None:
        yield expression.var
    for _func, args in expression.filters:
        for is_lookup, arg in args:
            if is_lookup and isinstance(arg, Variable) and arg.lookups is not None:
                yield arg


def _variables_of_condition(condition):
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield from _variables_of_expression(value)
    for side in ("first", "second"):
        child = getattr(condition, side, None)
        if child is not None:
            yield from _variables_of_condition(child)


def _variables(nodelist):
    for node in nodelist:
        if isinstance(node, VariableNode):
            yield from _variables_of_expression(node.filter_expression)
        if isinstance(node, IfNode):
            for condition, branch in node.conditions_nodelists:
                if condition is not None:
                    yield from _variables_of_condition(condition)
                yield from _variables(branch)


def template_compile(*, source: str, field: str = "body"):
    """Compile a subject or body in the sandbox; RenderError names the refused tag or variable.
    Compiled templates are cached by their text: a batch of sends compiles each step once."""
    return _compiled(source)


@lru_cache(maxsize=512)
def _compiled(source: str):
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            tag = (token.split_contents() or [""])[0]
            if tag not in ALLOWED_TAGS:
                raise RenderError(TAG_NOT_ALLOWED.format(tag=tag))
    try:
        template = _engine.from_string(source)
    except TemplateSyntaxError as exc:
        raise RenderError(SYNTAX_ERROR.format(error=exc)) from exc
    for variable in _variables(template.nodelist):
        name = ".".join(variable.lookups)
        if name not in ALLOWED_NAMES:
            raise RenderError(VARIABLE_NOT_ALLOWED.format(name=name, allowed=", ".join(ALLOWED_NAMES)))
    return template


def lead_context(*, lead: Lead) -> dict[str, str]:
    """The only lead fields a template sees, as plain strings."""
    return {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "full_name": lead.full_name,
        "company": lead.company,
        "job_title": lead.job_title,
        "city": lead.city,
        "country": str(lead.country.name) if lead.country else "",
    }


@dataclass
class RenderedEmail:
    subject: str
    text: str
    urls: list[str]


def _no_line_breaks(value: str, field: str) -> str:
    if "\r" in value or "\n" in value or "\x00" in value:
        raise RenderError(HEADER_INJECTION.format(field=field))
    return value


def header_safe(*, value: str, field: str) -> str:
    """A header value from data: refused (RenderError) if it holds a line break."""
    return _no_line_breaks(value, field)


def email_render(*, subject: str, body: str, lead: Lead, sender: dict[str, str], unsubscribe_url: str) -> RenderedEmail:
    """Render a step's subject and text body for one lead; RenderError when refused."""
    context = Context(
        {"lead": lead_context(lead=lead), "sender": dict(sender), "unsubscribe_url": unsubscribe_url}, autoescape=False
    )
    rendered_subject = template_compile(source=subject, field="subject").render(context).strip()
    _no_line_breaks(rendered_subject, "subject")
    if not rendered_subject:
        raise RenderError(SUBJECT_EMPTY)
    text = template_compile(source=body).render(context).strip().replace("\r\n", "\n")
    if unsubscribe_url not in text:
        text += f"\n\n--\nUnsubscribe: {unsubscribe_url}"
    return RenderedEmail(subject=rendered_subject, text=text, urls=text_urls(text=text))


def text_urls(*, text: str) -> list[str]:
    """The http(s) links of a text body, in order, without trailing punctuation."""
    return list(dict.fromkeys(match.rstrip(TRAILING_PUNCTUATION) for match in URL_RE.findall(text)))


def text_to_html(*, text: str, link_for) -> str:
    """HTML made from the text part: escaped, paragraphs, every link passed through `link_for(url)`."""
    paragraphs = []
    for block in re.split(r"\n{2,}", text):
        parts, last = [], 0
        for match in URL_RE.finditer(block):
            url = match.group(0).rstrip(TRAILING_PUNCTUATION)
            end = match.start() + len(url)
            parts.append(html.escape(block[last : match.start()]))
            parts.append(f'<a href="{html.escape(link_for(url), quote=True)}">{html.escape(url)}</a>')
            last = end
        parts.append(html.escape(block[last:]))
        paragraphs.append("<p>" + "".join(parts).replace("\n", "<br>\n") + "</p>")
    return "\n".join(paragraphs)
