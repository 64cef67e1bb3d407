"""What a scoring change would do before it is saved: the bulk rescore's own statement
(service.calc_select), counted in one query instead of written, over every open lead."""

import copy
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from ..models import Lead, ScoringConfig, ScoringRule
from .service import OPEN, _predictive, calc_select

# A better grade has a higher rank; '' (never scored) is below D.
_RANK = "CASE {} WHEN 'A' THEN 4 WHEN 'B' THEN 3 WHEN 'C' THEN 2 WHEN 'D' THEN 1 ELSE 0 END"


@dataclass(frozen=True)
class GradePreview:
    """Open leads in scope, and how many would change grade (up, down) or become qualified."""

    leads: int = 0
    changed: int = 0
    up: int = 0
    down: int = 0
    qualify: int = 0


def _numbered(rules: list[ScoringRule]) -> list[ScoringRule]:
    """Copies with distinct ids: the statement names a column per rule (r<id>), and a rule not
    saved yet has none."""
    numbered = []
    for n, rule in enumerate(rules, start=1):
        item = copy.copy(rule)
        item.pk = n
        numbered.append(item)
    return numbered


def grades_preview(
    *,
    config: ScoringConfig,
    rules: list[ScoringRule],
    now: datetime | None = None,
) -> GradePreview:
    """How many open leads a rescore with `config` and the active ones of `rules` (saved or not)
    would move to another grade, and how many it would qualify: one count query."""
    active = _numbered([rule for rule in rules if rule.is_active])
    fit = [rule for rule in active if rule.group == ScoringRule.Group.FIT]
    engagement = [rule for rule in active if rule.group == ScoringRule.Group.ENGAGEMENT]
    predictive = _predictive()
    model = predictive.model_current() if predictive is not None else None
    probability = predictive.probability_sql(model) if model is not None else None
    sql, params = calc_select(
        scope=Lead.objects.filter(status__in=OPEN),
        config=config,
        fit_rules=fit,
        engagement_rules=engagement,
        probability=probability,
        now=now or timezone.now(),
    )
    new_rank, old_rank = _RANK.format("x.new_grade"), _RANK.format("x.old_grade")
    count = (
        f"SELECT COUNT(*), "
        f"COALESCE(SUM(CASE WHEN x.new_grade <> x.old_grade THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN {new_rank} > {old_rank} THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN {new_rank} < {old_rank} THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN x.qualifies THEN 1 ELSE 0 END), 0) FROM ({sql}) x"
    )
    with connection.cursor() as cursor:
        cursor.execute(count, params)
        leads, changed, up, down, qualify = cursor.fetchone()
    return GradePreview(leads=leads, changed=int(changed), up=int(up), down=int(down), qualify=int(qualify))
