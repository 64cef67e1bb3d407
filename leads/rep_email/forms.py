"""The compose form (lead and customer pages) and the template form."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from ..common.timezones import zone_or_none
from ..models import EmailTemplate, Lead
from .compose import Draft
from .templates import templates_visible

SEND_AT_INVALID = "Enter a date and time such as 2030-01-15 10:30."

ACTIONS = ("apply", "insert", "preview", "send", "schedule")


def lead_zone(lead: Lead) -> zoneinfo.ZoneInfo:
    """The lead's time zone (a scheduled time is the lead's local time), else the site's."""
    return zone_or_none(lead.time_zone or "") or zoneinfo.ZoneInfo(settings.TIME_ZONE)


class ComposeForm(forms.Form):
    to = forms.CharField(max_length=2000, label="To")
    cc = forms.CharField(max_length=2000, required=False, label="Cc")
    template = forms.ModelChoiceField(queryset=EmailTemplate.objects.none(), required=False, label="Template")
    snippet = forms.ModelChoiceField(queryset=EmailTemplate.objects.none(), required=False, label="Snippet")
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 8}))
    tracked = forms.BooleanField(required=False, label="Track opens and clicks")
    send_at = forms.CharField(
        required=False,
        label="Send at (the lead's local time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    override = forms.BooleanField(required=False, label="Send anyway")
    override_reason = forms.CharField(max_length=400, required=False, label="Why (recorded)")
    in_reply_to = forms.CharField(max_length=998, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead, self.user, self.zone = lead, user, lead_zone(lead)
        choices = list(templates_visible(user=user))
        self.fields["template"].queryset = templates_visible(user=user, kind=EmailTemplate.Kind.TEMPLATE)
        self.fields["snippet"].queryset = templates_visible(user=user, kind=EmailTemplate.Kind.SNIPPET)
        # One query for both pickers: the choices are built from the list read above.
        for name, kind in (("template", EmailTemplate.Kind.TEMPLATE), ("snippet", EmailTemplate.Kind.SNIPPET)):
            self.fields[name].choices = [("", "—")] + [
                (item.pk, f"{item.name}{' (shared)' if item.is_shared and item.owner_id != user.pk else ''}")
                for item in choices
                if item.kind == kind
            ]
        self.fields["send_at"].help_text = f"{self.zone.key}"

    def clean_send_at(self) -> datetime | None:
        value = (self.cleaned_data.get("send_at") or "").strip()
        if not value:
            return None
        try:
            naive = datetime.fromisoformat(value.replace(" ", "T"))
        except ValueError as exc:
            raise forms.ValidationError(SEND_AT_INVALID) from exc
        if naive.tzinfo is not None:
            return naive
        return timezone.make_aware(naive, self.zone)

    def draft(self) -> Draft:
        data = self.cleaned_data
        return Draft(
            to=data["to"],
            cc=data.get("cc", ""),
            subject=data.get("subject", ""),
            body=data.get("body", ""),
            template=data.get("template"),
            tracked=bool(data.get("tracked")),
            send_at=data.get("send_at"),
            override=bool(data.get("override")),
            override_reason=data.get("override_reason", ""),
            in_reply_to=data.get("in_reply_to", ""),
        )


class TemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["kind", "name", "subject", "body", "is_shared"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        labels = {"is_shared": "Shared with everyone"}

    def __init__(self, *args, may_share: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_share:
            del self.fields["is_shared"]
        if self.instance.pk:
            del self.fields["kind"]
