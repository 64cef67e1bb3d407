"""Sequence statistics, aggregated in SQL: per sequence and per step, enrolled, sent, opened,
clicked, replied, unsubscribed, bounced, converted; and a small server-rendered bar chart."""

from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Q, Subquery

from ..models.nurturing import Enrollment, Sequence, SequenceStep, StepRun

EXIT_METRICS = ("replied", "unsubscribed", "bounced", "converted", "qualified", "not_mailable")
CHART_WIDTH = 320
CHART_BAR = 22


@dataclass
class StepStats:
    step: SequenceStep
    reached: int = 0
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    failed: int = 0
    exits: dict = field(default_factory=dict)

    def rate(self, part: int) -> float | None:
        return round(100 * part / self.sent, 1) if self.sent else None

    @property
    def open_rate(self):
        return self.rate(self.opened)

    @property
    def click_rate(self):
        return self.rate(self.clicked)


@dataclass
class SequenceStats:
    enrolled: int
    active: int
    completed: int
    exited: int
    sent: int
    opened: int
    clicked: int
    exits: dict
    steps: list[StepStats]

    @property
    def funnel(self) -> list[tuple[str, int]]:
        return [
            ("Enrolled", self.enrolled),
            ("Sent", self.sent),
            ("Opened", self.opened),
            ("Clicked", self.clicked),
            ("Replied", self.exits["replied"]),
            ("Unsubscribed", self.exits["unsubscribed"]),
            ("Bounced", self.exits["bounced"]),
            ("Converted", self.exits["converted"]),
        ]


def sequence_stats(*, sequence: Sequence) -> SequenceStats:
    """Totals and per-step figures of one sequence, in three queries."""
    totals = Enrollment.objects.filter(sequence=sequence).aggregate(
        enrolled=Count("pk"),
        active=Count("pk", filter=Q(status=Enrollment.Status.ACTIVE)),
        completed=Count("pk", filter=Q(status=Enrollment.Status.COMPLETED)),
        exited=Count("pk", filter=Q(status=Enrollment.Status.EXITED)),
        **{name: Count("pk", filter=Q(exit_reason=name)) for name in EXIT_METRICS},
    )
    per_step = {
        row["step_id"]: row
        for row in StepRun.objects.filter(step__sequence=sequence)
        .order_by()
        .values("step_id")
        .annotate(
            reached=Count("pk"),
            sent=Count("pk", filter=Q(status=StepRun.Status.SENT)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
            failed=Count("pk", filter=Q(status=StepRun.Status.FAILED)),
        )
    }
    # An exit (reply, unsubscribe, bounce, conversion) counts for the last email the lead was sent.
    exits_by_step: dict[int, dict[str, int]] = {}
    last_sent = (
        StepRun.objects.filter(enrollment=OuterRef("pk"), status=StepRun.Status.SENT)
        .order_by("-claimed_at", "-id")
        .values("step_id")[:1]
    )
    exit_rows = (
        Enrollment.objects.filter(sequence=sequence, exit_reason__in=EXIT_METRICS)
        .annotate(last_step=Subquery(last_sent))
        .filter(last_step__isnull=False)
        .order_by()
        .values("last_step")
        .annotate(**{name: Count("pk", filter=Q(exit_reason=name)) for name in EXIT_METRICS})
    )
    for row in exit_rows:
        exits_by_step[row["last_step"]] = {name: row[name] for name in EXIT_METRICS}
    steps = []
    for step in sequence.steps.order_by("position", "id"):
        row = per_step.get(step.pk, {})
        steps.append(
            StepStats(
                step=step,
                reached=row.get("reached", 0),
                sent=row.get("sent", 0),
                opened=row.get("opened", 0),
                clicked=row.get("clicked", 0),
                failed=row.get("failed", 0),
                exits=exits_by_step.get(step.pk, dict.fromkeys(EXIT_METRICS, 0)),
            )
        )
    return SequenceStats(
        enrolled=totals["enrolled"],
        active=totals["active"],
        completed=totals["completed"],
        exited=totals["exited"],
        sent=sum(s.sent for s in steps),
        opened=sum(s.opened for s in steps),
        clicked=sum(s.clicked for s in steps),
        exits={name: totals[name] for name in EXIT_METRICS},
        steps=steps,
    )


def bar_chart(*, bars: list[tuple[str, int]]) -> dict:
    """Geometry of a horizontal bar chart (the template draws the SVG): label, value, width, y."""
    top = max((value for _, value in bars), default=0) or 1
    rows = [
        {"label": label, "value": value, "width": round(CHART_WIDTH * value / top), "y": index * (CHART_BAR + 8)}
        for index, (label, value) in enumerate(bars)
    ]
    return {
        "rows": rows,
        "height": len(rows) * (CHART_BAR + 8),
        "width": CHART_WIDTH + 200,
        "bar": CHART_BAR,
        "label_width": 110,
    }
