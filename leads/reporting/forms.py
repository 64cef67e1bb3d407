"""The dashboards' filters: a date range (default: the last 90 days) and a team, from GET."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ..models import Team

DEFAULT_DAYS = 90
MAX_DAYS = 732  # two years (and a leap day): the longest range a dashboard aggregates
END_BEFORE_START = _("The end date must be on or after the start date.")
RANGE_TOO_LONG = format_lazy(_("Choose a range of at most {days} days."), days=MAX_DAYS)
VIEWS = ("chart", "table")


class DashboardFilterForm(forms.Form):
    start = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.order_by("name"), required=False, empty_label=_("All teams")
    )
    by_grade = forms.BooleanField(label=_("Scores by grade"), required=False)
    # Only the export reads it; the filter form on the page does not show it.
    format = forms.ChoiceField(label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "Excel")], required=False)

    def team_choices(self) -> list[tuple]:
        """The team <select>'s options in one query (a ModelChoiceIterator in a template loop counts first)."""
        return [choice for choice in self.fields["team"].choices]  # list() would ask its length: a COUNT

    def clean(self):
        data = super().clean()
        if "start" in self.errors or "end" in self.errors:
            return data
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("end", END_BEFORE_START)
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", RANGE_TOO_LONG)
        data["start"], data["end"] = start, end
        return data


def dashboard_filter_form(*, params) -> DashboardFilterForm:
    """The filter form bound to GET params, with the default range (the last 90 days) filled in
    where a date is missing, so the form shows what the charts show."""
    data = params.copy()
    if not data.get("end"):
        data["end"] = timezone.localdate().isoformat()
    if not data.get("start"):
        try:
            end = date.fromisoformat(data["end"])
        except ValueError:
            end = timezone.localdate()
        data["start"] = (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return DashboardFilterForm(data)
