"""The provider interface: a provider declares what it fills from what, and suggests values
with a confidence. It never writes; the enrichment service decides what is applied."""

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...common.safe_http import ProviderUnavailable  # noqa: F401  (providers raise it; it lives with the fetcher)


@dataclass(frozen=True)
class Suggestion:
    """One value for one lead field, with how sure the provider is (0-1) and a short hint
    shown on the lead page ("from email domain")."""

    field: str
    value: Any
    confidence: float
    detail: str = ""


@dataclass
class LeadFacts:
    """What providers read: the lead's current values (including what earlier providers in this
    run suggested) plus facts from outside the lead row, such as the last capture's IP."""

    values: dict[str, Any]
    ip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = "") -> Any:
        value = self.values.get(name)
        return default if value in (None, "") else value


class Provider:
    """Subclass and set `name`, `fills`, `needs`; implement suggest()."""

    name: ClassVar[str] = ""
    fills: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[tuple[str, ...]] = ()
    network: ClassVar[bool] = False  # network providers are off in tests unless a test turns them on

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:  # pragma: no cover - interface
        raise NotImplementedError

    def applicable(self, facts: LeadFacts) -> bool:
        """Run only when at least one input is present."""
        return any(facts.get(name) for name in self.needs) or (not self.needs)
