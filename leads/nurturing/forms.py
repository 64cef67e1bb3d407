"""Forms of the sequence editor: the sequence's settings, one step, manual enrollment, preview."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.utils.translation import gettext_lazy as _

from ..common.rendering import RenderError, template_compile
from ..common.validation import id_parse
from ..models import Lead
from ..models.nurturing import BRANCH_TARGET_LATER, Segment, Sequence, SequenceStep

SUBJECT_REQUIRED = "An email step needs a subject."
BODY_REQUIRED = "An email step needs a body."
WAIT_REQUIRED = "Give a number of days, a weekday, a time, or a combination."
BRANCH_ON_REQUIRED = "Choose what the branch tests."
BRANCH_VALUE_REQUIRED = "Give the score to compare with."
BRANCH_TARGET_NEW_STEP = "A new step goes at the end, so it has no later step yet: add the steps after it, then edit the branch to jump to one."
TASK_TITLE_REQUIRED = "A task step needs a title."
STATUS_REQUIRED = "Choose the new status."
LEAD_REQUIRED = "Give a lead id or email address."
LEAD_NOT_FOUND = "No lead you can see has this id or email address."


class SequenceForm(forms.ModelForm):
    entry_statuses = forms.MultipleChoiceField(
        choices=Lead.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Enroll leads with status"),
        help_text=_("Pipeline rule: a processed lead with one of these statuses enrolls."),
    )
    entry_grades = forms.MultipleChoiceField(
        choices=Lead.Grade.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("…and grade"),
        help_text=_("Empty: any grade."),
    )

    class Meta:
        model = Sequence
        fields = [
            "name",
            "description",
            "is_active",
            "from_name",
            "from_email",
            "reply_to",
            "entry_segment",
            "entry_statuses",
            "entry_grades",
            "allow_reenroll",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"allow_reenroll": _("Allow re-enrollment")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entry_segment"].queryset = Segment.objects.order_by("name")
        for name in ("from_name",):
            self.fields[name].widget.attrs["maxlength"] = 150

    def clean_from_name(self):
        value = self.cleaned_data["from_name"]
        if "\r" in value or "\n" in value:
            raise forms.ValidationError("Line breaks are not allowed in a sender name.")
        return value


class StepForm(forms.ModelForm):
    class Meta:
        model = SequenceStep
        fields = [
            "kind",
            "subject",
            "body",
            "wait_days",
            "wait_weekday",
            "wait_time",
            "branch_on",
            "branch_value",
            "branch_target",
            "task_title",
            "task_due_days",
            "new_status",
        ]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 10, "class": "font-monospace"}),
            "wait_time": forms.TimeInput(attrs={"type": "time"}),
        }
        help_texts = {
            "subject": _('Template syntax, e.g. Hello {{ lead.first_name|default:"there" }}'),
            "body": _(
                "Plain text; links become tracked links and an unsubscribe link is added if you leave "
                "{{ unsubscribe_url }} out. Available: lead.first_name, lead.last_name, lead.full_name, "
                "lead.company, lead.job_title, lead.city, lead.country, sender.name, sender.email."
            ),
        }

    def __init__(self, *args, sequence: Sequence, **kwargs):
        super().__init__(*args, **kwargs)
        self.sequence = sequence
        # Only later steps are offered: a new step is appended at the end, so it has none yet.
        later = (
            sequence.steps.filter(position__gt=self.instance.position) if self.instance.pk else sequence.steps.none()
        )
        self.fields["branch_target"].queryset = later.order_by("position")
        self.fields["branch_target"].error_messages["invalid_choice"] = (
            BRANCH_TARGET_LATER if self.instance.pk else BRANCH_TARGET_NEW_STEP
        )
        if not self.instance.pk:
            self.fields["branch_target"].help_text = _(
                "Empty: end the sequence when the condition holds. " + BRANCH_TARGET_NEW_STEP
            )
        self.fields["branch_target"].label_from_instance = lambda step: (
            f"{step.position + 1}. {step.get_kind_display()}"
        )
        # One fieldset per kind: the marketer fills in the one of the kind chosen.
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "kind",
            Fieldset(_("Send email"), "subject", "body", css_class="border rounded px-3 pt-2 mb-3"),
            Fieldset(_("Wait"), "wait_days", "wait_weekday", "wait_time", css_class="border rounded px-3 pt-2 mb-3"),
            Fieldset(
                _("Branch"), "branch_on", "branch_value", "branch_target", css_class="border rounded px-3 pt-2 mb-3"
            ),
            Fieldset(_("Task for the owner"), "task_title", "task_due_days", css_class="border rounded px-3 pt-2 mb-3"),
            Fieldset(_("Change status"), "new_status", css_class="border rounded px-3 pt-2 mb-3"),
        )

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == SequenceStep.Kind.EMAIL:
            for field, missing in (("subject", SUBJECT_REQUIRED), ("body", BODY_REQUIRED)):
                if not data.get(field):
                    self.add_error(field, missing)
                    continue
                try:
                    template_compile(source=data[field], field=field)
                except RenderError as exc:
                    self.add_error(field, str(exc))
        elif kind == SequenceStep.Kind.WAIT:
            if data.get("wait_days") is None and data.get("wait_weekday") is None and data.get("wait_time") is None:
                self.add_error("wait_days", WAIT_REQUIRED)
        elif kind == SequenceStep.Kind.BRANCH:
            if not data.get("branch_on"):
                self.add_error("branch_on", BRANCH_ON_REQUIRED)
            elif data["branch_on"] == SequenceStep.BranchOn.SCORE_GTE and data.get("branch_value") is None:
                self.add_error("branch_value", BRANCH_VALUE_REQUIRED)
            target = data.get("branch_target")
            if target is not None and not self.instance.pk:
                self.add_error("branch_target", BRANCH_TARGET_NEW_STEP)
            elif target is not None and (
                target.sequence_id != self.sequence.pk or target.position <= self.instance.position
            ):
                self.add_error("branch_target", BRANCH_TARGET_LATER)
        elif kind == SequenceStep.Kind.TASK:
            if not data.get("task_title"):
                self.add_error("task_title", TASK_TITLE_REQUIRED)
        elif kind == SequenceStep.Kind.STATUS:
            if not data.get("new_status"):
                self.add_error("new_status", STATUS_REQUIRED)
        return data


class LeadPickForm(forms.Form):
    """A lead by id or email, among the leads the user can see."""

    lead = forms.CharField(label=_("Lead id or email"), max_length=254)

    def __init__(self, *args, leads, **kwargs):
        super().__init__(*args, **kwargs)
        self.leads = leads

    def clean_lead(self):
        value = self.cleaned_data["lead"].strip()
        if not value:
            raise forms.ValidationError(LEAD_REQUIRED)
        found = self.leads.filter(pk=id_parse(value)) if id_parse(value) else self.leads.filter(email=value.lower())
        lead = found.first()
        if lead is None:
            raise forms.ValidationError(LEAD_NOT_FOUND)
        return lead
