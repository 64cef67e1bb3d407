"""Train the predictive scoring model now, print what it learned, then rescore the open leads.

python manage.py train_scoring [--no-rescore] [--top N]
"""

from django.core.management.base import BaseCommand

from leads.models import ScoringModel
from leads.scoring.predictive import model_train
from leads.scoring.service import leads_rescore


class Command(BaseCommand):
    help = "Train the lead scoring model on won and lost leads, report it, and rescore open leads."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-rescore", action="store_true", help="Train only; leave probabilities and scores as they are."
        )
        parser.add_argument(
            "--top", type=int, default=15, help="How many of the strongest features to list (default 15)."
        )

    def handle(self, *args, no_rescore: bool, top: int, **options):
        model = model_train()
        style = self.style.SUCCESS if model.status == ScoringModel.Status.READY else self.style.WARNING
        self.stdout.write(style(f"Status: {model.get_status_display()}"))
        self.stdout.write(model.message)
        self.stdout.write(f"Closed leads: {model.n_closed:,} ({model.n_won:,} won, {model.n_lost:,} lost)")
        self.stdout.write(f"Training time: {model.duration_seconds:.1f} s")
        if model.status == ScoringModel.Status.READY:
            self._report(model, top=top)
        if model.status == ScoringModel.Status.FAILED or no_rescore:
            return

        result = leads_rescore()
        self.stdout.write(f"Rescored {result.scored:,} open leads ({len(result.qualified):,} newly qualified).")

    def _report(self, model: ScoringModel, *, top: int) -> None:
        metrics = model.metrics or {}
        if "logistic" in metrics:
            self.stdout.write(
                f"Model in use: {model.get_kind_display()} (the choice, on {metrics['held_out']:,} held-out leads):"
            )
            for kind, name in ScoringModel.Kind.choices:
                self.stdout.write(
                    f"  {name:<24} AUC {metrics[kind]['auc']:.4f}  log loss {metrics[kind]['log_loss']:.4f}"
                )
        self.stdout.write(f"Held-out AUC: {model.auc:.3f}")
        self.stdout.write("Calibration (held-out leads):")
        self.stdout.write(f"  {'bin':>8}  {'predicted':>9}  {'observed':>8}  {'leads':>7}")
        for row in model.calibration:
            self.stdout.write(
                f"  {row['bin']:>8}  {row['predicted']:>9.1%}  {row['observed']:>8.1%}  {row['count']:>7,}"
            )
        if model.kind == ScoringModel.Kind.BOOSTED:
            self.stdout.write("Strongest properties (mean effect on held-out leads' log-odds, either direction):")
            for item in metrics.get("strongest", [])[:top]:
                self.stdout.write(f"  {item['weight']:6.2f}  {item['label']}")
            return
        strongest = sorted(model.features, key=lambda feature: -abs(feature["weight"]))[:top]
        self.stdout.write(
            f"Strongest features ({len(strongest)} of {len(model.features)}, log-odds; intercept {model.intercept:+.2f}):"
        )
        for feature in strongest:
            self.stdout.write(f"  {feature['weight']:+6.2f}  {feature['label']}")
