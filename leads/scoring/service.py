"""The score: rule points (fit + engagement) combined with the learned probability.

    rules  = clamp(fit + engagement, 0, 100)      fit and engagement each clamped to ±their cap
    score  = round((1 − w) × rules + w × 100 × probability)    w = ScoringConfig.probability_weight
    score  = round(rules)                                      when there is no probability
    grade  = A/B/C/D from the configured thresholds (kept when set by hand)

Rescoring is set-based: one aggregate over recent interactions for engagement, then one UPDATE
that writes fit points, score, grade and scored_at for every open lead in an id range.
"""
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, FloatField, IntegerField, Value, When
from django.db.models.functions import Abs, Cast, Greatest, Least, Round
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from ..models import Interaction, Lead, Notification, ScoreJob, ScoringConfig
from .rules import engagement_sql, fit_expression, rule_expressions, rules_active

logger = logging.getLogger(__name__)

OPEN = ("new", "active", "nurturing", "qualified")
QUALIFIABLE = ("new", "active", "nurturing")
CHUNK = 100_000  # leads per UPDATE in a bulk rescore (progress is reported per chunk)


def _predictive():
    """The learned half (leads/scoring/predictive.py), when it is installed."""
    try:
        from . import predictive
    except ImportError:  # pragma: no cover - the module ships with LeadCRM
        return None
    return predictive


def _rules_total(fit, engagement):
    return Least(Greatest(fit + engagement, Value(0.0)), Value(100.0))


def score_expression(config: ScoringConfig, rules_total):
    """The combined score as SQL (see the module docstring)."""
    w = float(config.probability_weight)
    blended = Case(
        When(probability__isnull=True, then=rules_total),
        default=rules_total * Value(1 - w) + F("probability") * Value(100.0 * w),
        output_field=FloatField(),
    )
    return Cast(Round(blended), IntegerField())


def grade_expression(config: ScoringConfig, score):
    """A/B/C/D for a score expression; a grade set by hand stays."""
    return Case(
        When(grade_locked=True, then=F("grade")),
        When(GreaterThanOrEqual(score, config.grade_a), then=Value("A")),
        When(GreaterThanOrEqual(score, config.grade_b), then=Value("B")),
        When(GreaterThanOrEqual(score, config.grade_c), then=Value("C")),
        default=Value("D"),
    )


def _engagement_update(*, lead_ids: list[int] | None, id_range: tuple[int, int] | None, config, rules, now) -> None:
    """Every open lead in scope gets its decayed engagement points (0 without recent events) in one
    UPDATE that writes only the rows whose value changes: a rewritten lead row costs its 22 index
    entries, so an engaged lead must not be zeroed first and written again."""
    scope = Lead.objects.filter(status__in=OPEN)
    if lead_ids is not None:
        scope = scope.filter(pk__in=lead_ids)
    if id_range is not None:
        scope = scope.filter(pk__gte=id_range[0], pk__lt=id_range[1])
    if not rules:
        scope.exclude(engagement_points=0).update(engagement_points=0)
        return
    sql, params = engagement_sql(rules, config, now=now, lead_ids=lead_ids, id_range=id_range)
    total = " + ".join(f"e.r{rule.pk}" for rule in rules)
    cap = float(config.engagement_cap)
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    where = ["l.status IN (" + ", ".join(["%s"] * len(OPEN)) + ")", "(l.engagement_points <> 0 OR e.lead_id IS NOT NULL)"]
    where_params: list[Any] = list(OPEN)
    if lead_ids is not None:
        where.append("l.id IN (" + ", ".join(["%s"] * len(lead_ids)) + ")")
        where_params.extend(lead_ids)
    if id_range is not None:
        where.append("l.id >= %s AND l.id < %s")
        where_params.extend(id_range)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE leads_lead SET engagement_points = x.points FROM ("
            # COALESCE inside: PostgreSQL's GREATEST skips NULLs, so a lead without events would get -cap.
            f"SELECT l.id, {least}({greatest}(COALESCE({total}, 0.0), {-cap}), {cap}) AS points "
            f"FROM leads_lead l LEFT JOIN ({sql}) AS e ON e.lead_id = l.id WHERE {' AND '.join(where)}"
            f") AS x WHERE leads_lead.id = x.id AND leads_lead.engagement_points <> x.points",
            [*params, *where_params],
        )


def _scores_update(*, scope, config, fit_rules, now) -> int:
    """Write fit points, score and grade where they change (returns the leads scored). Unchanged
    rows are not rewritten: every rewritten lead row also rewrites its entries in the table's
    indexes, which is most of the cost of a bulk rescore."""
    fit = fit_expression(fit_rules, config)
    rules_total = _rules_total(fit, F("engagement_points"))
    score = score_expression(config, rules_total)
    grade = grade_expression(config, score)
    scored = scope.count()
    changed = scope.alias(new_fit=fit, new_score=score, new_grade=grade).exclude(
        fit_points=F("new_fit"), score=F("new_score"), grade=F("new_grade")
    )
    changed.update(fit_points=fit, score=score, grade=grade, scored_at=now)
    return scored


def _log_changes(*, scope, config, now) -> int:
    """Timeline entries for significant score changes (not every recompute)."""
    changed = scope.annotate(delta=Abs(F("score") - F("score_logged"))).filter(delta__gte=config.significant_change)
    rows = list(changed.values_list("pk", "score", "score_logged")[:200_000])
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        Interaction.objects.bulk_create(
            Interaction(
                lead_id=pk, kind=Interaction.Kind.SCORE_CHANGE, occurred_at=now,
                subject=f"Score {old} → {new}", data={"from": old, "to": new},
            )
            for pk, new, old in chunk
        )
        Lead.objects.filter(pk__in=[pk for pk, _, _ in chunk]).update(score_logged=F("score"))
    return len(rows)


def _qualify(*, scope, config, now) -> list[int]:
    """New/active/nurturing leads at or above the MQL threshold become qualified (unless a
    person set their status), with a timeline entry and a notification for the owner."""
    reached = scope.filter(status__in=QUALIFIABLE, status_locked=False, score__gte=config.mql_threshold)
    rows = list(reached.values_list("pk", "status", "score", "owner_id"))
    if not rows:
        return []
    ids = [pk for pk, *_ in rows]
    # updated_at stays: a change made by the pipeline itself must not make it run again.
    Lead.objects.filter(pk__in=ids).update(status=Lead.Status.QUALIFIED)
    Interaction.objects.bulk_create(
        Interaction(
            lead_id=pk, kind=Interaction.Kind.STATUS_CHANGE, occurred_at=now, subject="Qualified by score",
            data={"from": status, "to": "qualified", "reason": f"score {score} ≥ MQL threshold {config.mql_threshold}"},
        )
        for pk, status, score, _ in rows
    )
    notifications = Notification.objects.bulk_create(
        Notification(user_id=owner, kind=Notification.Kind.QUALIFIED, lead_id=pk, message=f"Lead #{pk} is qualified (score {score})")
        for pk, _, score, owner in rows if owner
    )
    if notifications:
        from ..tasks import enqueue_after_commit, notify_by_email_task

        enqueue_after_commit(notify_by_email_task, [n.pk for n in notifications])
    from ..nurturing.sequences import leads_enrollments_exit  # the hand-off: no more nurture steps

    leads_enrollments_exit(lead_ids=ids, reason="qualified")
    return ids


@dataclass
class RescoreResult:
    scored: int
    logged: int
    qualified: list[int]


def leads_rescore(*, lead_ids: list[int] | None = None, job: ScoreJob | None = None, now: datetime | None = None) -> RescoreResult:
    """Rescore open leads (all, or the given ids), set-based; report progress on `job`."""
    now = now or timezone.now()
    config = ScoringConfig.current()
    fit_rules, engagement_rules = rules_active()
    predictive = _predictive()
    if predictive is not None:
        predictive.probabilities_update(lead_ids=lead_ids)
    scored = logged = 0
    qualified: list[int] = []
    if lead_ids is not None:
        ranges: list[tuple[int, int] | None] = [None]
    else:
        bounds = Lead.objects.filter(status__in=OPEN).order_by("pk").values_list("pk", flat=True)
        first, last = bounds.first(), bounds.last()
        ranges = [(start, start + CHUNK) for start in range(first, last + 1, CHUNK)] if first is not None else []
    for id_range in ranges:
        with transaction.atomic():
            _engagement_update(lead_ids=lead_ids, id_range=id_range, config=config, rules=engagement_rules, now=now)
            scope = Lead.objects.filter(status__in=OPEN)
            if lead_ids is not None:
                scope = scope.filter(pk__in=lead_ids)
            if id_range is not None:
                scope = scope.filter(pk__gte=id_range[0], pk__lt=id_range[1])
            count = _scores_update(scope=scope, config=config, fit_rules=fit_rules, now=now)
            scored += count
            logged += _log_changes(scope=scope, config=config, now=now)
            qualified += _qualify(scope=scope, config=config, now=now)
        if job is not None:
            ScoreJob.objects.filter(pk=job.pk).update(processed=F("processed") + count)
    return RescoreResult(scored=scored, logged=logged, qualified=qualified)


def rescore_all_start(*, by=None, reason: str = "") -> ScoreJob:
    """Queue a background rescore of every open lead (after a rule or settings change)."""
    from ..tasks import enqueue_after_commit, rescore_all_task

    waiting = ScoreJob.objects.filter(status=ScoreJob.Status.PENDING).order_by("created_at").first()
    if waiting is not None:
        return waiting  # several changes at once (a list edit): one rescore covers them all
    job = ScoreJob.objects.create(created_by=by, reason=reason[:200], total=Lead.objects.filter(status__in=OPEN).count())
    enqueue_after_commit(rescore_all_task, job.pk)
    return job


def score_explain(*, lead: Lead) -> dict[str, Any]:
    """Why the lead has its score: each rule that fired (points after decay), the model's
    strongest features, and contributions that add up to the score shown."""
    leads_rescore(lead_ids=[lead.pk])
    lead.refresh_from_db()
    config = ScoringConfig.current()
    fit_rules, engagement_rules = rules_active()
    fired: list[dict[str, Any]] = []
    if fit_rules:
        values = Lead.objects.filter(pk=lead.pk).values(**rule_expressions(fit_rules)).first() or {}
        fired += [
            {"rule": rule.name, "group": "fit", "points": round(values[f"r{rule.pk}"], 2)}
            for rule in fit_rules if values.get(f"r{rule.pk}")
        ]
    if engagement_rules:
        sql, params = engagement_sql(engagement_rules, config, now=lead.scored_at or timezone.now(), lead_ids=[lead.pk])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row:
            fired += [
                {"rule": rule.name, "group": "engagement", "points": round(float(value), 2)}
                for rule, value in zip(engagement_rules, row[1:]) if value
            ]
    w = float(config.probability_weight) if lead.probability is not None else 0.0
    raw_fit = sum(item["points"] for item in fired if item["group"] == "fit")
    raw_engagement = sum(item["points"] for item in fired if item["group"] == "engagement")
    rules_total = lead.fit_points + lead.engagement_points
    clamped = max(0.0, min(100.0, rules_total))
    contributions = [{"label": item["rule"], "points": round(item["points"] * (1 - w), 2)} for item in fired]
    adjustment = (clamped - raw_fit - raw_engagement) * (1 - w)
    if abs(adjustment) >= 0.005:
        contributions.append({"label": "Caps and the 0-100 range", "points": round(adjustment, 2)})
    model: list[dict[str, Any]] = []
    if lead.probability is not None:
        contributions.append({"label": f"Learned probability {lead.probability:.0%}", "points": round(w * 100 * lead.probability, 2)})
        predictive = _predictive()
        if predictive is not None:
            model = predictive.probability_explain(lead=lead)
    subtotal = sum(item["points"] for item in contributions)
    if abs(lead.score - subtotal) >= 0.005:
        contributions.append({"label": "Rounding", "points": round(lead.score - subtotal, 2)})
    return {
        "score": lead.score,
        "grade": lead.grade,
        "probability": lead.probability,
        "fit_points": round(lead.fit_points, 2),
        "engagement_points": round(lead.engagement_points, 2),
        "probability_weight": w,
        "rules": fired,
        "model": model,
        "contributions": contributions,
        "scored_at": lead.scored_at,
    }
