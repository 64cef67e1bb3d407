"""Admin for scoring: rules and settings (a change rescores every open lead), rescore jobs, and the learned
model (read-only, with "Train now")."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from .. import jobs
from ..models import ScoreJob, ScoringConfig, ScoringModel, ScoringRule
from ..permissions import can_train
from .predictive import MIN_CLOSED, model_current
from .service import rescore_all_start

TRAIN_QUEUED = "Training queued: the new model appears here in a minute or two, then every open lead is rescored."


class RescoreOnChangeMixin:
    """Rule and settings changes rescore every open lead in the background (ScoreJob)."""

    def _rescore(self, request, reason: str) -> None:
        job = rescore_all_start(by=request.user, reason=reason)
        self.message_user(
            request,
            format_html(
                'Rescoring every open lead in the background: <a href="{}">follow its progress</a>.',
                reverse("leads:score_job", args=[job.pk]),
            ),
            messages.INFO,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._rescore(request, f"{obj} saved")

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._rescore(request, f"{obj} deleted")


@admin.register(ScoringRule)
class ScoringRuleAdmin(RescoreOnChangeMixin, admin.ModelAdmin):
    list_display = ("name", "group", "field", "operator", "value", "event", "url_pattern", "points", "cap", "is_active")
    list_filter = ("group", "is_active", "event")
    list_editable = ("points", "cap", "is_active")
    search_fields = ("name",)


@admin.register(ScoringConfig)
class ScoringConfigAdmin(RescoreOnChangeMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "fit_cap",
        "engagement_cap",
        "decay",
        "probability_weight",
        "mql_threshold",
        "updated_at",
    )

    def has_add_permission(self, request) -> bool:
        return not ScoringConfig.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScoreJob)
class ScoreJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "reason", "status", "processed", "total", "logged", "qualified", "finished_at")
    list_filter = ("status",)
    readonly_fields = (
        "created_at",
        "created_by",
        "reason",
        "status",
        "total",
        "processed",
        "chunks",
        "chunks_done",
        "logged",
        "qualified",
        "started_at",
        "finished_at",
        "message",
    )
    exclude = ("ranges_done",)

    def has_add_permission(self, request) -> bool:
        return False


# --- The learned scoring model (leads/scoring/predictive/): read-only, with "Train now" -----


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    """Each training of the predictive model with its held-out figures and features. A record
    of what was learned, so nobody edits it; "Train now" queues a training."""

    change_list_template = "admin/leads/scoringmodel/change_list.html"
    list_display = (
        "trained_at",
        "status",
        "kind",
        "closed",
        "won",
        "lost",
        "auc_shown",
        "feature_count",
        "duration_seconds",
    )
    list_filter = ("status", "kind")
    fields = (
        "trained_at",
        "status",
        "message",
        "kind",
        "choice_table",
        "closed",
        "won",
        "lost",
        "auc_shown",
        "duration_seconds",
        "intercept_shown",
        "calibration_table",
        "strongest_table",
        "features_table",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("trees")  # a tree model's arrays: up to a megabyte, never shown

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        train = path("train/", self.admin_site.admin_view(self.train_view), name="leads_scoringmodel_train")
        return [train, *super().get_urls()]

    def train_view(self, request: HttpRequest):
        """POST: queue a training (then a rescore of every open lead) instead of waiting for the night."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_train(request.user):
            raise PermissionDenied
        jobs.enqueue("leads.scoring.tasks.train_scoring_task")
        self.message_user(request, TRAIN_QUEUED, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:leads_scoringmodel_changelist"))

    def changelist_view(self, request, extra_context=None):
        current = model_current()
        context = {
            "current_model": current,
            "current_auc": self.auc_shown(current) if current else "",
            "can_train": can_train(request.user),
            "min_closed": MIN_CLOSED,
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    @admin.display(description="Closed leads", ordering="n_closed")
    def closed(self, obj: ScoringModel) -> int:
        return obj.n_closed

    @admin.display(description="Won", ordering="n_won")
    def won(self, obj: ScoringModel) -> int:
        return obj.n_won

    @admin.display(description="Lost", ordering="n_lost")
    def lost(self, obj: ScoringModel) -> int:
        return obj.n_lost

    @admin.display(description="AUC (held-out)", ordering="auc")
    def auc_shown(self, obj: ScoringModel) -> str:
        return "—" if obj.auc is None else f"{obj.auc:.3f}"

    @admin.display(description="Intercept (log-odds of a lead with none of the features)")
    def intercept_shown(self, obj: ScoringModel) -> str:
        return f"{obj.intercept:+.3f}"

    @admin.display(description="Features")
    def feature_count(self, obj: ScoringModel) -> int:
        return len(obj.features or [])

    @admin.display(description="Model choice (the same held-out closed leads)")
    def choice_table(self, obj: ScoringModel) -> str:
        """Both candidates' held-out figures, the winner first: why this kind of model is in use."""
        metrics = obj.metrics or {}
        if "logistic" not in metrics:
            return "—"
        names = dict(ScoringModel.Kind.choices)
        order = sorted(("logistic", "boosted"), key=lambda kind: kind != metrics.get("winner"))
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    names[kind] + (" (in use)" if kind == metrics.get("winner") else ""),
                    f"{metrics[kind]['auc']:.3f}",
                    f"{metrics[kind]['log_loss']:.4f}",
                    f"{metrics[kind]['cv_log_loss']:.4f}" if "cv_log_loss" in metrics[kind] else "—",
                )
                for kind in order
            ),
        )
        return format_html(
            "<table><tr><th>Model</th><th>AUC</th><th>Log loss</th><th>Cross-validated log loss</th></tr>{}</table>"
            "<p>Judged on {} held-out closed leads neither model learned from; the trees are kept only when both "
            "their AUC and their log loss are better.</p>",
            rows,
            f"{metrics.get('held_out', 0):,}",
        )

    @admin.display(description="Strongest properties (gradient-boosted trees)")
    def strongest_table(self, obj: ScoringModel) -> str:
        """A tree model's columns by their mean effect on held-out leads' log-odds (either direction)."""
        strongest = (obj.metrics or {}).get("strongest") or []
        if obj.kind != ScoringModel.Kind.BOOSTED or not strongest:
            return "—"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((item["label"], f"{item['weight']:.2f}") for item in strongest)
        )
        return format_html("<table><tr><th>Property</th><th>Mean effect (log-odds, ±)</th></tr>{}</table>", rows)

    @admin.display(description="Calibration (held-out leads)")
    def calibration_table(self, obj: ScoringModel) -> str:
        """Per bin of predicted probability: what the model said and what happened."""
        if not obj.calibration:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (row["bin"], f"{row['predicted']:.1%}", f"{row['observed']:.1%}", row["count"])
                for row in obj.calibration
            ),
        )
        return format_html(
            "<table><tr><th>Predicted</th><th>Mean predicted</th><th>Observed won rate</th><th>Leads</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="Features and weights (log-odds, the logistic regression)")
    def features_table(self, obj: ScoringModel) -> str:
        """The chosen features, strongest first: a positive weight raises the probability."""
        if not obj.features:
            return "—"
        features = sorted(obj.features, key=lambda feature: -feature["weight"])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f["label"], f"{f['weight']:+.2f}", f"{f.get('share', 0):.1%}") for f in features),
        )
        return format_html(
            "<table><tr><th>Feature</th><th>Weight</th><th>Share of closed leads</th></tr>{}</table>", rows
        )
