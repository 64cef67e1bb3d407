"""Forms of the lead page's actions: log a call, add a task, change status, reassign,
and edit one field inline. Validation messages are module-level constants (tests assert on them)."""

from django import forms
from django.contrib.auth.models import User
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..common.validation import LOST_REASON_REQUIRED
from ..models import Lead, TeamMembership
from ..roles import SALES_REPS, is_manager
from ..workspace.followups import CALL_OUTCOMES, OUTCOME_INVALID, OUTCOME_REQUIRED, TITLE_REQUIRED
from .forms import LeadForm

OWNER_NOT_IN_TEAM = "Choose a sales rep of the lead's team."
STATUS_USE_CONVERT = "Use Convert to make this lead a customer."
ASSIGNEE_INVALID = "Give the task to yourself, the lead's owner or a rep of its team."

# Fields a rep can edit in place on the lead page (the full edit page has every field).
INLINE_FIELDS = (
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
    "time_zone",
    "industry",
    "company_size",
)


class PageForm(forms.Form):
    """A form of the lead page: its fields get ids of their own (`<prefix>_notes`), because several
    forms share field names on one page and a label must point at its own field."""

    id_prefix = "page"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class CallLogForm(PageForm):
    id_prefix = "call"
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", "—"), *CALL_OUTCOMES],
        error_messages={"required": OUTCOME_REQUIRED, "invalid_choice": OUTCOME_INVALID},
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 2})
    )


class StatusForm(PageForm):
    id_prefix = "status"
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(value, label) for value, label in Lead.Status.choices if value != Lead.Status.CONVERTED],
    )
    lost_reason = forms.CharField(label=_("Lost reason"), required=False, max_length=300)

    def clean_status(self) -> str:
        if self.cleaned_data["status"] == Lead.Status.CONVERTED:
            raise forms.ValidationError(STATUS_USE_CONVERT)
        return self.cleaned_data["status"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == Lead.Status.LOST and not (cleaned.get("lost_reason") or "").strip():
            self.add_error("lost_reason", LOST_REASON_REQUIRED)
        if cleaned.get("status") and cleaned.get("status") != Lead.Status.LOST:
            cleaned["lost_reason"] = ""
        return cleaned


def team_reps(lead: Lead):
    """The active sales reps of the lead's team (of every team when it has none)."""
    memberships = TeamMembership.objects.filter(team_id=lead.team_id) if lead.team_id else TeamMembership.objects.all()
    return (
        User.objects.filter(is_active=True, groups__name=SALES_REPS, pk__in=memberships.values("user_id"))
        .distinct()
        .order_by("username")
    )


class ReassignForm(PageForm):
    id_prefix = "reassign"
    owner = forms.ModelChoiceField(
        label=_("New owner"), queryset=User.objects.none(), error_messages={"invalid_choice": OWNER_NOT_IN_TEAM}
    )

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = team_reps(lead)


class TaskForm(PageForm):
    id_prefix = "task"
    title = forms.CharField(label=_("Task"), max_length=200, error_messages={"required": TITLE_REQUIRED})
    due_at = forms.DateTimeField(
        label=_("Due"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    assigned_to = forms.ModelChoiceField(
        label=_("For"),
        queryset=User.objects.none(),
        required=False,
        error_messages={"invalid_choice": ASSIGNEE_INVALID},
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, lead: Lead, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = Q(pk=user.pk) | Q(pk=lead.owner_id) if lead.owner_id else Q(pk=user.pk)
        if is_manager(user):
            allowed |= Q(pk__in=team_reps(lead).values("pk"))
        self.fields["assigned_to"].queryset = User.objects.filter(allowed, is_active=True).order_by("username")
        self.fields["assigned_to"].empty_label = _("the lead's owner, else me")
        self.fields["assigned_to"].label_from_instance = lambda u: u.get_username()


class InlineFieldForm(LeadForm):
    """The lead form cut down to one field (its validation is the full form's)."""

    def __init__(self, *args, field: str, **kwargs):
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name != field:
                del self.fields[name]
