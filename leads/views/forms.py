"""HTML forms; validation is shared with the API through leads.common.validation."""

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from ..common.normalize import normalize_email
from ..common.validation import lead_clean
from ..models import Interaction, Lead
from ..roles import is_manager

EDITABLE_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "website",
    "country",
    "region",
    "city",
    "postal_code",
    "time_zone",
    "industry",
    "company_size",
    "source",
    "source_detail",
    "status",
    "lost_reason",
    "owner",
    "team",
    "external_id",
    "email_opt_in",
    "do_not_contact",
]


class LeadForm(forms.ModelForm):
    website = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Lead
        fields = EDITABLE_FIELDS

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not is_manager(user):
            # Only managers reassign; a rep's own lead stays theirs.
            del self.fields["owner"]
            del self.fields["team"]
        else:
            self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data.get("email"))

    def clean(self):
        cleaned = super().clean()
        current = None
        if self.instance.pk:
            current = {
                "status": self.instance.status,
                "lost_reason": self.instance.lost_reason,
                "country": self.instance.country,
            }
        data = {
            name: cleaned[name]
            for name in ("phone", "time_zone", "status", "lost_reason", "country")
            if name in cleaned
        }
        try:
            cleaned.update(lead_clean(data, current=current))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned

    def _get_validation_exclusions(self):
        # Email and external id uniqueness is answered by the database constraint in
        # capture.typed.lead_create and lead_update (DuplicateLeadError), not by a racy pre-check here.
        return super()._get_validation_exclusions() | {"email", "external_id"}

    def changed_data_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}


class NoteForm(forms.Form):
    """A timeline entry typed by hand; its ids are `note_<field>` (the lead page has other notes fields)."""

    KINDS = [
        (Interaction.Kind.NOTE, "Note"),
        (Interaction.Kind.CALL_OUT, "Outbound call"),
        (Interaction.Kind.CALL_IN, "Inbound call"),
        (Interaction.Kind.EMAIL_OUT, "Email sent"),
    ]
    kind = forms.ChoiceField(choices=KINDS, initial=Interaction.Kind.NOTE)
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)
