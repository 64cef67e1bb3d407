"""The scoring settings pages: the rules in words, the caps, decay and thresholds, each change
previewed (leads that would change grade, counted by the bulk rescore's own statement) before
it is saved."""

import copy

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from ..models import ScoringConfig, ScoringRule, SettingsChange
from ..scoring.preview import grades_preview
from . import scoring
from .views import history, manager_only


def _rescoring(request: HttpRequest, job) -> None:
    messages.info(
        request,
        format_html(
            'Saved. Every open lead is being rescored in the background: <a href="{}">follow its progress</a>.',
            reverse("leads:score_job", args=[job.pk]),
        ),
    )


def _rules() -> list[ScoringRule]:
    return list(ScoringRule.objects.order_by("group", "position", "id"))


@manager_only
def scoring_view(request: HttpRequest) -> HttpResponse:
    """Rules in words, and the settings form: Preview counts the leads that would change grade,
    Save stores the settings and rescores."""
    config = ScoringConfig.current()
    before = scoring.config_snapshot(config)
    # The form fills its own copy: the page keeps showing the saved settings beside a preview.
    form = scoring.ConfigForm(request.POST or None, instance=copy.copy(config))
    preview = None
    if request.method == "POST" and form.is_valid():
        changed = form.save(commit=False)
        if "save" in request.POST:
            _rescoring(request, scoring.scoring_config_save(config=changed, before=before, by=request.user))
            return redirect("leads:settings_ui:scoring")
        preview = grades_preview(config=changed, rules=_rules())
    rules = _rules()
    return render(
        request,
        "leads/settings_ui/scoring.html",
        {
            "form": form,
            "preview": preview,
            "config": config,
            "decay": scoring.decay_in_words(config),
            "fit_rules": [(rule, scoring.rule_in_words(rule)) for rule in rules if rule.group == ScoringRule.Group.FIT],
            "engagement_rules": [
                (rule, scoring.rule_in_words(rule)) for rule in rules if rule.group == ScoringRule.Group.ENGAGEMENT
            ],
            "history": history(SettingsChange.Area.SCORING_CONFIG, SettingsChange.Area.SCORING_RULE),
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@manager_only
def scoring_rule_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A new rule or a rule's change: Preview shows it in words and the leads that would change
    grade; Save stores it and rescores."""
    rule = get_object_or_404(ScoringRule, pk=pk) if pk is not None else None
    before = scoring.rule_snapshot(rule) if rule is not None else {}
    form = scoring.RuleForm(
        request.POST or None,
        rule=rule,
        initial=scoring.rule_initial(rule) if rule is not None else {"group": ScoringRule.Group.FIT, "is_active": True},
    )
    context = {"form": form, "rule": rule, "preview": None, "words": None}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "leads/settings_ui/scoring_rule_form.html", context, status=400)
        changed = form.rule(rule)
        if "save" in request.POST:
            _rescoring(request, scoring.scoring_rule_save(rule=changed, before=before, by=request.user))
            return redirect("leads:settings_ui:scoring")
        others = [r for r in _rules() if rule is None or r.pk != rule.pk]
        context.update(
            preview=grades_preview(config=ScoringConfig.current(), rules=[*others, changed]),
            words=scoring.rule_in_words(changed),
        )
    return render(request, "leads/settings_ui/scoring_rule_form.html", context)


@manager_only
@require_POST
def scoring_rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ScoringRule, pk=pk)
    _rescoring(request, scoring.scoring_rule_delete(rule=rule, by=request.user))
    return redirect("leads:settings_ui:scoring")
