"""The user's preferences page: the time zone dates are shown in, and the lead list's columns."""

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..workspace.preferences import LEAD_COLUMNS, columns_for, preference_get, preference_update
from ..workspace.user_time_zone import session_time_zone_set

ZONE_CHOICES = sorted(zoneinfo.available_timezones())


class PreferenceForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("Dates and times are shown in this zone. Blank: the site's zone."),
    )
    lead_columns = forms.MultipleChoiceField(
        label=gettext_lazy("Lead list columns"),
        choices=[(key, label) for key, label, _order in LEAD_COLUMNS],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", _("Site default (%(zone)s)") % {"zone": settings.TIME_ZONE})] + [
            (name, name) for name in ZONE_CHOICES
        ]


@login_required
def preferences_view(request: HttpRequest) -> HttpResponse:
    """Show and save the user's time zone and list columns."""
    preference = preference_get(user=request.user)
    initial = {"time_zone": preference.time_zone, "lead_columns": columns_for(preference)}
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            preference_update(
                user=request.user,
                time_zone=form.cleaned_data["time_zone"],
                lead_columns=form.cleaned_data["lead_columns"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            session_time_zone_set(request=request, name=form.cleaned_data["time_zone"])
            messages.success(request, _("Preferences saved."))
            return redirect("leads:preferences")
    return render(request, "leads/preferences.html", {"form": form}, status=400 if form.errors else 200)
