"""Lead models. core: leads, timeline, teams. capture: how leads come in."""
from .capture import (  # noqa: F401
    CaptureRecord, Consent, PossibleDuplicate, WebForm,
)
from .core import Interaction, Lead, NormalizedEmailField, Team, TeamMembership  # noqa: F401
