"""Rule points as SQL: fit rules become CASE expressions on the lead row (Django expressions,
so PostgreSQL and SQLite both run them); engagement rules become one aggregate over recent
interactions, with time decay, grouped by lead."""

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, FloatField, Q, Value, When
from django.db.models.functions import Greatest, Least

from ..models import ScoringConfig, ScoringRule

# Interaction kinds each event rule counts.
EVENT_KINDS: dict[str, tuple[str, ...]] = {
    ScoringRule.Event.PAGE_VIEW: ("page_view",),
    ScoringRule.Event.FORM_SUBMIT: ("form_submit",),
    ScoringRule.Event.EMAIL_OPENED: ("email_opened",),
    ScoringRule.Event.EMAIL_CLICKED: ("email_clicked",),
    ScoringRule.Event.EMAIL_REPLIED: ("email_in",),
    ScoringRule.Event.CALL: ("call_in", "call_out"),
    ScoringRule.Event.UNSUBSCRIBE: ("unsubscribe",),
}
MIN_DECAY = 0.01  # older events weigh less than this: ignored


def rules_active() -> tuple[list[ScoringRule], list[ScoringRule]]:
    """(fit rules, engagement rules), active, in order."""
    rules = list(ScoringRule.objects.filter(is_active=True).order_by("group", "position", "id"))
    return [r for r in rules if r.group == ScoringRule.Group.FIT], [
        r for r in rules if r.group == ScoringRule.Group.ENGAGEMENT
    ]


def _lookup(field: str) -> str:
    return field.replace(".", "__", 1) if field.startswith("attributes.") else field


def fit_condition(rule: ScoringRule) -> Q:
    """The rule's condition as a Q on Lead."""
    name, value = _lookup(rule.field), rule.value
    if rule.operator == ScoringRule.Operator.EQUALS:
        return Q(**{name: value})
    if rule.operator == ScoringRule.Operator.IN:
        return Q(**{f"{name}__in": value if isinstance(value, list) else [value]})
    if rule.operator == ScoringRule.Operator.CONTAINS:
        return Q(**{f"{name}__icontains": value})
    if rule.operator == ScoringRule.Operator.GT:
        return Q(**{f"{name}__gt": value})
    if rule.operator == ScoringRule.Operator.LT:
        return Q(**{f"{name}__lt": value})
    if rule.operator == ScoringRule.Operator.IS_SET:
        if rule.field.startswith("attributes."):
            return Q(attributes__has_key=rule.field.split(".", 1)[1])
        return Q(**{f"{name}__isnull": False}) & ~Q(**{name: ""}) & ~Q(**{name: False})
    raise ValueError(f"unknown operator {rule.operator!r}")


def fit_points(rule: ScoringRule) -> float:
    """A fit rule fires once: its points, held to its cap."""
    points = float(rule.points)
    if rule.cap is not None:
        points = max(-rule.cap, min(rule.cap, points))
    return points


def fit_expression(rules: list[ScoringRule], config: ScoringConfig):
    """Σ fit points, clamped to [-fit_cap, fit_cap], as one SQL expression."""
    total = Value(0.0, output_field=FloatField())
    for rule in rules:
        total = total + Case(
            When(fit_condition(rule), then=Value(fit_points(rule))), default=Value(0.0), output_field=FloatField()
        )
    return Least(Greatest(total, Value(-float(config.fit_cap))), Value(float(config.fit_cap)))


def rule_expressions(rules: list[ScoringRule]) -> dict[str, Case]:
    """One expression per fit rule (for explanations): r<id> → points or 0."""
    return {
        f"r{rule.pk}": Case(
            When(fit_condition(rule), then=Value(fit_points(rule))), default=Value(0.0), output_field=FloatField()
        )
        for rule in rules
    }


def horizon_days(config: ScoringConfig) -> float:
    """Age after which an event's decayed weight is below MIN_DECAY."""
    if config.decay == ScoringConfig.Decay.LINEAR:
        return (100 / max(config.linear_percent, 1)) * config.linear_period_days
    return config.half_life_days * 6.65  # 0.5 ** 6.65 ≈ 0.01


def decay_factor(age_days: float, config: ScoringConfig) -> float:
    """The weight of an event `age_days` old (1 when new)."""
    if config.decay == ScoringConfig.Decay.LINEAR:
        return max(0.0, 1 - config.linear_percent / 100 * (age_days // max(config.linear_period_days, 1)))
    return 0.5 ** (age_days / max(config.half_life_days, 1))


def sql_dialect() -> dict[str, str]:
    """The few spellings of scoring SQL that differ between PostgreSQL and SQLite (`make run`)."""
    if connection.vendor == "postgresql":
        return {
            "least": "LEAST",
            "greatest": "GREATEST",
            "round": "ROUND(CAST({} AS NUMERIC), 0)",
            "json": "jsonb_build_object",
            "float": "DOUBLE PRECISION",
            # after a subquery: the planner may not flatten it (and copy its expressions into every
            # place that names them)
            "fence": " OFFSET 0",
        }
    return {
        "least": "MIN",
        "greatest": "MAX",
        "round": "ROUND({}, 0)",
        "json": "json_object",
        "float": "REAL",
        "fence": "",
    }


def _decay_sql(config: ScoringConfig, vendor: str) -> str:
    age = (
        # float8: EXTRACT returns numeric, and POWER over numeric is arbitrary-precision (~10 µs a row)
        "(CAST(EXTRACT(EPOCH FROM (%s - i.occurred_at)) AS DOUBLE PRECISION) / 86400.0)"
        if vendor == "postgresql"
        else "(julianday(%s) - julianday(i.occurred_at))"
    )
    if config.decay == ScoringConfig.Decay.LINEAR:
        greatest = sql_dialect()["greatest"]
        return f"{greatest}(0.0, 1.0 - {config.linear_percent / 100.0} * FLOOR({age} / {max(config.linear_period_days, 1)}))"
    return f"POWER(0.5, {age} / {float(max(config.half_life_days, 1))})"


def engagement_sql(
    rules: list[ScoringRule],
    config: ScoringConfig,
    *,
    now: datetime,
    lead_ids: list[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> tuple[str, list[Any]]:
    """SELECT lead_id, r<id>... (decayed, capped points per rule) over recent interactions.

    Each interaction's decay is computed once, in a subquery the planner may not flatten (OFFSET 0
    on PostgreSQL; flattened, it would copy the expression into every rule's SUM): with eight rules
    that was eight POWER() calls per interaction, half of a bulk rescore range's aggregate."""
    vendor = connection.vendor
    table = "leads_interaction"
    decay = _decay_sql(config, vendor)
    columns, params = [], []
    kinds: set[str] = set()
    for rule in rules:
        rule_kinds = EVENT_KINDS.get(rule.event, ())
        kinds.update(rule_kinds)
        condition = "i.kind IN (" + ", ".join(["%s"] * len(rule_kinds)) + ")"
        condition_params: list[Any] = list(rule_kinds)
        if rule.event == ScoringRule.Event.PAGE_VIEW and rule.url_pattern:
            condition += " AND LOWER(i.body) LIKE %s"
            condition_params.append("%" + rule.url_pattern.lower().replace("%", "").replace("_", "") + "%")
        summed = f"SUM(CASE WHEN {condition} THEN i.decay ELSE 0 END) * {float(rule.points)}"
        params.extend(condition_params)
        if rule.cap is not None:
            d = sql_dialect()
            summed = f"{d['least']}({d['greatest']}({summed}, {-float(rule.cap)}), {float(rule.cap)})"
        columns.append(f"{summed} AS r{rule.pk}")
    if not rules:
        return "", []
    where = ["i.kind IN (" + ", ".join(["%s"] * len(kinds)) + ")", "i.occurred_at > %s"]
    where_params: list[Any] = [*sorted(kinds), now - timedelta(days=horizon_days(config))]
    if lead_ids is not None:
        where.append("i.lead_id IN (" + ", ".join(["%s"] * len(lead_ids)) + ")")
        where_params.extend(lead_ids)
    if id_range is not None:  # a bulk rescore's chunk: aggregate only its leads' interactions
        where.append("i.lead_id >= %s AND i.lead_id < %s")
        where_params.extend(id_range)
    # (in lead order, so the aggregate above groups without a sort)
    ordered = " ORDER BY i.lead_id" if vendor == "postgresql" else ""
    recent = (
        f"SELECT i.lead_id, i.kind, i.body, {decay} AS decay FROM {table} i "
        f"WHERE {' AND '.join(where)}{ordered}{sql_dialect()['fence']}"
    )
    sql = f"SELECT i.lead_id, {', '.join(columns)} FROM ({recent}) i GROUP BY i.lead_id"
    return sql, [*params, now, *where_params]
