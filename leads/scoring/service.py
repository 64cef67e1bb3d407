"""The score: rule points (fit + engagement) combined with the learned probability.

    rules  = clamp(fit + engagement, 0, 100)      fit and engagement each clamped to ±their cap
    score  = round((1 − w) × rules + w × 100 × probability)    w = ScoringConfig.probability_weight
    score  = round(rules)                                      when there is no probability
    grade  = A/B/C/D from the configured thresholds (kept when set by hand)

Rescoring is set-based and works in id ranges: one statement computes each open lead's fit,
engagement (an aggregate over recent interactions), probability, score and grade; the timeline
entries are inserted from that; one UPDATE writes each changed lead row once.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, FloatField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from .. import events, jobs
from ..common.bulk import gin_deferred
from ..models import RANK_SYNC_SETTING, Lead, Notification, ScoreJob, ScoringConfig
from .rules import engagement_sql, fit_expression, rule_expressions, rules_active, sql_dialect

logger = logging.getLogger(__name__)

OPEN = ("new", "active", "nurturing", "qualified")
QUALIFIABLE = ("new", "active", "nurturing")


def _predictive():
    """The learned half (leads/scoring/predictive/), when it is installed."""
    try:  # the learned half pulls in numpy and scikit-learn: imported only when a score needs it
        from . import predictive
    except ImportError:  # pragma: no cover - the module ships with LeadCRM
        return None
    return predictive


# One row per lead in scope: what it has now, and what it should have. Kept per database session
# (CREATE … IF NOT EXISTS: no catalog churn per rescore) and emptied at the start and end of each use.
CALC_TABLE = "leads_score_calc"
CALC_COLUMNS = (
    ("id", "BIGINT"),
    ("owner_id", "INTEGER"),
    ("old_status", "VARCHAR(20)"),
    ("old_fit", "{float}"),
    ("old_eng", "{float}"),
    ("old_prob", "{float}"),
    ("old_score", "INTEGER"),
    ("old_grade", "VARCHAR(1)"),
    ("old_logged", "INTEGER"),
    ("new_fit", "{float}"),
    ("new_eng", "{float}"),
    ("new_prob", "{float}"),
    ("new_score", "INTEGER"),
    ("new_grade", "VARCHAR(1)"),
    ("significant", "BOOLEAN"),
    ("qualifies", "BOOLEAN"),
)


def calc_select(
    *, scope, config, fit_rules, engagement_rules, probability, lead_ids=None, id_range=None, now
) -> tuple[str, list]:
    """The one statement that computes, per lead in scope, what it has (old_*) and what it should
    have (new_fit … qualifies), in CALC_COLUMNS order: filled into the calc table by a rescore,
    counted by the settings preview (leads/scoring/preview.py)."""
    d = sql_dialect()
    inner = scope.order_by().values(
        "id",
        owner_ref=F("owner_id"),
        old_status=F("status"),
        old_fit=F("fit_points"),
        old_eng=F("engagement_points"),
        old_prob=F("probability"),
        old_score=F("score"),
        old_grade=F("grade"),
        old_logged=F("score_logged"),
        status_is_locked=F("status_locked"),
        grade_is_locked=F("grade_locked"),
        fit=fit_expression(fit_rules, config),
        prob=probability if probability is not None else Cast(Value(None), output_field=FloatField()),
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    cap = float(config.engagement_cap)
    if engagement_rules:
        eng_sql, eng_params = engagement_sql(engagement_rules, config, now=now, lead_ids=lead_ids, id_range=id_range)
        total = " + ".join(f"e.r{rule.pk}" for rule in engagement_rules)
        # COALESCE inside: PostgreSQL's GREATEST skips NULLs, so a lead without events would get -cap.
        engagement = f"{d['least']}({d['greatest']}(COALESCE({total}, 0.0), {-cap}), {cap})"
        join = f"LEFT JOIN ({eng_sql}) e ON e.lead_id = c.id"
    else:
        engagement, join, eng_params = "0.0", "", []
    w = float(config.probability_weight)
    rules_total = f"{d['least']}({d['greatest']}(b.fit + b.eng, 0.0), 100.0)"
    blended = f"CASE WHEN b.prob IS NULL THEN {rules_total} ELSE {rules_total} * {1 - w} + b.prob * {100.0 * w} END"
    score = "CAST(" + d["round"].format(blended) + " AS INTEGER)"
    grade = (
        f"CASE WHEN s.grade_is_locked THEN s.old_grade WHEN s.new_score >= {int(config.grade_a)} THEN 'A' "
        f"WHEN s.new_score >= {int(config.grade_b)} THEN 'B' WHEN s.new_score >= {int(config.grade_c)} THEN 'C' ELSE 'D' END"
    )
    qualifies = (
        "s.old_status IN (" + ", ".join(f"'{status}'" for status in QUALIFIABLE) + ")"
        f" AND NOT s.status_is_locked AND s.new_score >= {int(config.mql_threshold)}"
    )
    # Each level is computed once per lead: PostgreSQL would otherwise flatten the subqueries and
    # copy an expression into every place that names it (the fit rules and a tree model's staged
    # probability 12 times a lead, through new_score into the grade, significant and qualifies).
    fence = d["fence"]
    sql = (
        f"SELECT s.id, s.owner_ref AS owner_id, s.old_status, s.old_fit, s.old_eng, s.old_prob, s.old_score, s.old_grade, "
        f"s.old_logged, s.fit AS new_fit, s.eng AS new_eng, s.prob AS new_prob, s.new_score, {grade} AS new_grade, "
        f"ABS(s.new_score - s.old_logged) >= {int(config.significant_change)} AS significant, {qualifies} AS qualifies "
        f"FROM (SELECT b.*, {score} AS new_score FROM ("
        f"SELECT c.*, {engagement} AS eng FROM ({inner_sql}{fence}) c {join}{fence}"
        f") b{fence}) s"
    )
    return sql, [*inner_params, *eng_params]


def _calc_fill(*, scope, config, fit_rules, engagement_rules, probability, lead_ids, id_range, now) -> int:
    """Compute every lead's new fit, engagement, probability, score and grade into the calc table
    (one statement, nothing written to the lead rows yet). Returns the leads in scope."""
    sql, params = calc_select(
        scope=scope,
        config=config,
        fit_rules=fit_rules,
        engagement_rules=engagement_rules,
        probability=probability,
        lead_ids=lead_ids,
        id_range=id_range,
        now=now,
    )
    columns = ", ".join(name for name, _ in CALC_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CALC_TABLE}")
        cursor.execute(f"INSERT INTO {CALC_TABLE} ({columns}) {sql}", params)
        return cursor.rowcount


def _calc_table() -> None:
    d = sql_dialect()
    columns = ", ".join(f"{name} {kind.format(**d)}" for name, kind in CALC_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {CALC_TABLE} ({columns})")


def _calc_apply(
    *,
    config,
    now,
    id_range: tuple[int, int] | None = None,
    lead_ids: list[int] | None = None,
) -> tuple[int, list[tuple[int, int, int | None]]]:
    """Write the calc table back: timeline entries for significant changes and for leads that
    reach the MQL threshold, then one UPDATE that rewrites each changed lead row once (fit,
    engagement, probability, score, grade, the logged score and the status together: a lead row
    costs its indexes every time it is written). Returns (entries logged, qualified rows).

    The UPDATE names its leads on the lead table too (the id range, or the ids): joined on the id
    alone, the planner read the whole lead table (a million rows and the dead versions that earlier
    ranges left) into a hash for every range, spilling it to disk (see bench/README.md, "Bulk rescore")."""
    bounds, bound_params = "", []
    if id_range is not None:
        bounds, bound_params = "AND leads_lead.id >= %s AND leads_lead.id < %s ", list(id_range)
    elif lead_ids:
        bounds, bound_params = "AND leads_lead.id IN (" + ", ".join(["%s"] * len(lead_ids)) + ") ", list(lead_ids)
    with connection.cursor() as cursor:
        logged = events.score_changes_log(cursor=cursor, table=CALC_TABLE, occurred_at=now)
        cursor.execute(f"SELECT id, new_score, owner_id FROM {CALC_TABLE} WHERE qualifies ORDER BY id")
        qualified = cursor.fetchall()
        if qualified:
            events.qualified_by_score_log(
                cursor=cursor,
                table=CALC_TABLE,
                occurred_at=now,
                threshold=config.mql_threshold,
            )
        # updated_at stays: a change made by the pipeline itself must not make it run again. On
        # PostgreSQL the rank table (leads/models/rank.py) is written here too, set-based, with its
        # row trigger standing aside; the lead row's rewrite touches no index (a HOT update).
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute("SELECT set_config(%s, 'off', true)", [RANK_SYNC_SETTING])
        cursor.execute(
            f"UPDATE leads_lead SET fit_points = x.new_fit, engagement_points = x.new_eng, probability = x.new_prob, "
            f"score = x.new_score, grade = x.new_grade, scored_at = %s, "
            f"score_logged = CASE WHEN x.significant THEN x.new_score ELSE x.old_logged END, "
            f"status = CASE WHEN x.qualifies THEN 'qualified' ELSE x.old_status END "
            f"FROM {CALC_TABLE} x WHERE leads_lead.id = x.id {bounds}AND (x.significant OR x.qualifies "
            f"OR x.new_fit <> x.old_fit OR x.new_eng <> x.old_eng OR x.new_score <> x.old_score OR x.new_grade <> x.old_grade "
            f"OR COALESCE(x.new_prob, -1.0) <> COALESCE(x.old_prob, -1.0))",
            [now, *bound_params],
        )
        if postgres:
            cursor.execute(
                f"UPDATE leads_leadrank SET score = x.new_score, grade = x.new_grade, probability = x.new_prob, "
                f"status = CASE WHEN x.qualifies THEN 'qualified' ELSE x.old_status END "
                f"FROM {CALC_TABLE} x WHERE leads_leadrank.lead_id = x.id "
                f"{bounds.replace('leads_lead.id', 'leads_leadrank.lead_id')}AND (x.qualifies "
                f"OR x.new_score <> x.old_score OR x.new_grade <> x.old_grade "
                f"OR COALESCE(x.new_prob, -1.0) <> COALESCE(x.old_prob, -1.0))",
                bound_params,
            )
            cursor.execute("SELECT set_config(%s, 'on', true)", [RANK_SYNC_SETTING])
        # Who moved (automations on a score or grade threshold and webhooks hear it on the spine).
        cursor.execute(
            f"SELECT id, old_score, new_score, old_grade, new_grade FROM {CALC_TABLE} "
            f"WHERE new_score <> old_score OR new_grade <> old_grade ORDER BY id"
        )
        events.leads_score_changed(rows=cursor.fetchall(), occurred_at=now)
        cursor.execute(f"DELETE FROM {CALC_TABLE}")
    return logged, qualified


def _qualified_notify(rows: list[tuple[int, int, int | None]], *, now: datetime) -> None:
    """The hand-off for leads that just became qualified: the owner is told, and the qualification is
    published on the spine (nurturing stops, automations and webhooks hear it)."""
    notifications = Notification.objects.bulk_create(
        Notification(
            user_id=owner,
            kind=Notification.Kind.QUALIFIED,
            lead_id=pk,
            message=f"Lead #{pk} is qualified (score {score})",
        )
        for pk, score, owner in rows
        if owner
    )
    if notifications:
        jobs.enqueue("leads.workspace.tasks.notify_by_email_task", [n.pk for n in notifications])
    events.leads_qualified_by_score(lead_ids=[pk for pk, _, _ in rows], occurred_at=now)


@dataclass
class RescoreResult:
    scored: int
    logged: int
    qualified: list[int]


def rescore_ranges() -> list[tuple[int, int]]:
    """The id ranges a bulk rescore works in (each one transaction, a unit of progress and of
    parallel work: the background rescore hands them to the Celery workers)."""
    bounds = Lead.objects.filter(status__in=OPEN).order_by("pk").values_list("pk", flat=True)
    first, last = bounds.first(), bounds.last()
    size = settings.SCORING_RESCORE_CHUNK
    return [(start, start + size) for start in range(first, last + 1, size)] if first is not None else []


def leads_rescore(
    *,
    lead_ids: list[int] | None = None,
    id_ranges: list[tuple[int, int]] | None = None,
    now: datetime | None = None,
) -> RescoreResult:
    """Rescore open leads (the given ids, the given id ranges, or all of them range by range),
    set-based.

    Per range: one statement computes everything into a session-local table, then the timeline
    entries are inserted from it and each changed lead row is rewritten once."""
    if lead_ids is not None and not lead_ids:
        return RescoreResult(scored=0, logged=0, qualified=[])  # pk__in=[] compiles to no SQL at all
    now = now or timezone.now()
    config = ScoringConfig.current()
    fit_rules, engagement_rules = rules_active()
    predictive = _predictive()
    model = predictive.model_current() if predictive is not None else None
    scored = logged = 0
    qualified: list[int] = []
    ranges: list[tuple[int, int] | None] = [None] if lead_ids is not None else list(id_ranges or rescore_ranges())
    for id_range in ranges:
        with transaction.atomic():
            scope = Lead.objects.filter(status__in=OPEN)
            if lead_ids is not None:
                scope = scope.filter(pk__in=lead_ids)
            if id_range is not None:
                scope = scope.filter(pk__gte=id_range[0], pk__lt=id_range[1])
            started = time.perf_counter()
            # A logistic model's probability is an SQL expression; a tree model's is computed now into
            # a session-local table and read from there: either way it is written with the score.
            probability = None
            if model is not None:
                probability = predictive.probabilities_prepare(model=model, lead_ids=lead_ids, id_range=id_range)
            _calc_table()
            count = _calc_fill(
                scope=scope,
                config=config,
                fit_rules=fit_rules,
                engagement_rules=engagement_rules,
                probability=probability,
                lead_ids=lead_ids,
                id_range=id_range,
                now=now,
            )
            computed = time.perf_counter()
            with gin_deferred("leads_lead", enabled=id_range is not None):  # a bulk chunk, not a lead's event
                chunk_logged, chunk_qualified = _calc_apply(
                    config=config, now=now, id_range=id_range, lead_ids=lead_ids
                )
            if id_range is not None:  # the bench reads these lines (bench/score_bench.py)
                logger.info(
                    "rescore range %s-%s: %s leads, compute %.2f s, write %.2f s",
                    id_range[0],
                    id_range[1],
                    count,
                    computed - started,
                    time.perf_counter() - computed,
                )
            if chunk_qualified:
                _qualified_notify(chunk_qualified, now=now)
            scored += count
            logged += chunk_logged
            qualified += [pk for pk, _, _ in chunk_qualified]
    return RescoreResult(scored=scored, logged=logged, qualified=qualified)


def score_job_range_done(*, job_id: int, start: int, result: RescoreResult) -> bool:
    """Count one finished range of a background rescore, once (a redelivered task's second run
    adds nothing); the last range marks the job done. Call it in the range's own transaction, so
    the range's writes and its count commit together. Returns True when it was the last."""
    job = ScoreJob.objects.select_for_update().get(pk=job_id)
    if start in job.ranges_done or job.status != ScoreJob.Status.RUNNING:
        return False
    job.ranges_done.append(start)
    job.chunks_done = len(job.ranges_done)
    job.processed += result.scored
    job.logged += result.logged
    job.qualified += len(result.qualified)
    fields = ["ranges_done", "chunks_done", "processed", "logged", "qualified"]
    if job.chunks_done >= job.chunks:
        job.status, job.finished_at = ScoreJob.Status.DONE, timezone.now()
        job.message = f"{job.processed} leads scored, {job.logged} significant changes, {job.qualified} qualified"
        fields += ["status", "finished_at", "message"]
    job.save(update_fields=fields)
    return job.status == ScoreJob.Status.DONE


def score_job_blocking(*, job_id: int) -> ScoreJob | None:
    """Another background rescore still running (this one waits for it: two at once would only
    fight over the same rows). One running for longer than SCORING_JOB_STALE_MINUTES is taken for
    lost (its worker died) and marked failed, so it cannot block every later rescore."""
    stale = timezone.now() - timedelta(minutes=settings.SCORING_JOB_STALE_MINUTES)
    running = ScoreJob.objects.filter(status=ScoreJob.Status.RUNNING).exclude(pk=job_id)
    running.filter(started_at__lt=stale).update(
        status=ScoreJob.Status.FAILED,
        finished_at=timezone.now(),
        message=f"did not finish within {settings.SCORING_JOB_STALE_MINUTES} minutes",
    )
    return running.order_by("started_at").first()


def rescore_all_start(*, by=None, reason: str = "") -> ScoreJob:
    """Queue a background rescore of every open lead (after a rule or settings change)."""

    waiting = ScoreJob.objects.filter(status=ScoreJob.Status.PENDING).order_by("created_at").first()
    if waiting is not None:
        return waiting  # several changes at once (a list edit): one rescore covers them all
    job = ScoreJob.objects.create(
        created_by=by, reason=reason[:200], total=Lead.objects.filter(status__in=OPEN).count()
    )
    jobs.enqueue("leads.scoring.tasks.rescore_all_task", job.pk)
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
            for rule in fit_rules
            if values.get(f"r{rule.pk}")
        ]
    if engagement_rules:
        sql, params = engagement_sql(engagement_rules, config, now=lead.scored_at or timezone.now(), lead_ids=[lead.pk])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row:
            fired += [
                {"rule": rule.name, "group": "engagement", "points": round(float(value), 2)}
                for rule, value in zip(engagement_rules, row[1:])
                if value
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
        contributions.append(
            {"label": f"Learned probability {lead.probability:.0%}", "points": round(w * 100 * lead.probability, 2)}
        )
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
