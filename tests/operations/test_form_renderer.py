"""The form renderer writes select, option and input widgets in Python (leadcrm/form_renderer.py):
every page's form fields must stay exactly what Django's own templates write, escaping included."""

from pathlib import Path

import pytest
from django import forms
from django.apps import apps
from django.forms.renderers import DjangoTemplates
from django.test import RequestFactory
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from django_filters.widgets import CSVWidget

from leadcrm.form_renderer import INPUTS, OPTION, SELECT, FastWidgetRenderer
from leads.filters import LeadFilter
from leads.models import Lead
from leads.views.forms import LeadForm

HOSTILE = '"><script>alert(1)</script>&amp;'


class CSVSelect(CSVWidget, forms.Select):
    pass


class Everything(forms.Form):
    choice = forms.ChoiceField(choices=[("a", "A & B"), ("b", gettext_lazy("Lost")), (HOSTILE, HOSTILE)])
    grouped = forms.ChoiceField(choices=[("Fruit", [("apple", "Apple"), ("pear", "Pear")]), ("x", "Loose")])
    many = forms.MultipleChoiceField(choices=[("1", "One"), ("2", "Two"), ("3", "Three")], required=False)
    numbers = forms.TypedChoiceField(choices=[(1, 1000), (2, 2.5)], coerce=int)  # numbers: the templates' own
    yes_no = forms.NullBooleanField()
    text = forms.CharField(widget=forms.TextInput(attrs={"autofocus": True, "data-x": HOSTILE, "hidden": False}))
    safe_attr = forms.CharField(widget=forms.TextInput(attrs={"data-safe": mark_safe("<b>kept</b>")}))
    number = forms.IntegerField()
    email = forms.EmailField()
    url = forms.URLField(assume_scheme="https")
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True))
    hidden = forms.CharField(widget=forms.HiddenInput)
    when = forms.DateTimeField()
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    tick = forms.BooleanField(required=False)
    csv = forms.MultipleChoiceField(choices=[("new", "New"), ("lost", "Lost")], widget=CSVSelect, required=False)
    note = forms.CharField(widget=forms.Textarea)  # not written here: Django's template renders it


def _both(form: forms.Form) -> tuple[list[str], list[str]]:
    fast, django = [], []
    for renderer, out in ((FastWidgetRenderer(), fast), (DjangoTemplates(), django)):
        form.renderer = renderer
        out.extend(str(field) for field in form)
    return fast, django


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {
            "choice": HOSTILE,
            "grouped": "pear",
            "many": ["1", "3"],
            "numbers": "2",
            "yes_no": "false",
            "text": HOSTILE,
            "safe_attr": "x",
            "number": "12",
            "email": "not an email",
            "url": "http://example.com/?a=1&b=2",
            "secret": HOSTILE,
            "hidden": HOSTILE,
            "when": "2026-01-02 03:04",
            "day": "2026-01-02",
            "tick": "on",
            "csv": "new,lost",
            "note": HOSTILE,
        },
    ],
)
def test_every_kind_of_widget_is_written_as_djangos_templates_write_it(data):
    form = Everything(data) if data is not None else Everything(initial={"many": ["2"], "text": "", "tick": True})
    if data is not None:
        form.is_valid()
    fast, django = _both(form)
    assert fast == django
    assert "<script>" not in "".join(fast)
    # Only the textarea (and the numbers' select, whose labels the template localises) took a template.
    form.renderer = Recording()
    for field in form:
        str(field)
    assert form.renderer.templates == {"django/forms/widgets/textarea.html", SELECT}


class Recording(FastWidgetRenderer):
    def __init__(self):
        self.templates = set()

    def get_template(self, template_name):
        self.templates.add(template_name)
        return super().get_template(template_name)


@pytest.mark.django_db
def test_the_lead_filters_and_the_lead_form_are_unchanged(manager):
    request = RequestFactory().get("/", {"status": "new,active", "search": HOSTILE, "ordering": "-score"})
    request.user = manager
    fast, django = _both(LeadFilter(request.GET, queryset=Lead.objects.none(), request=request).form)
    assert fast == django
    lead = Lead(first_name=HOSTILE, email="a@example.com", country="DE", status="lost", lost_reason="price")
    fast, django = _both(LeadForm(instance=lead, user=manager))
    assert fast == django


def test_no_installed_app_overrides_the_templates_written_here():
    """The Python writer stands in for Django's own widget templates only; an app shipping its own
    version of one of them would have it ignored."""
    written = {SELECT, OPTION, *INPUTS}
    for config in apps.get_app_configs():
        if config.name == "django.forms":
            continue
        templates = Path(config.path) / "templates"
        assert not [name for name in written if (templates / name).exists()], config.name
