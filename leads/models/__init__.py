"""Lead models. core: leads, timeline, teams. capture: the capture log, consent, duplicates,
web forms. channels: mailboxes, webhooks, tracking, imports. nurturing: segments, sequences,
sends. work: tasks, saved views, preferences. telephony: Twilio accounts, call callbacks."""

from .automations import Automation, AutomationRun, RunStep  # noqa: F401
from .capture import CaptureRecord, Consent, PossibleDuplicate, WebForm  # noqa: F401
from .channels import (  # noqa: F401
    ImportJob,
    InboundEmail,
    Mailbox,
    OutboundMessage,
    PageView,
    TrackingSite,
    Visitor,
    WebhookEvent,
    WebhookSource,
)
from .core import Interaction, Lead, NormalizedEmailField, Team, TeamMembership  # noqa: F401
from .distribution import Agent, Assignment, Call, RotationState, TeamSettings, Territory  # noqa: F401
from .enrichment import EnrichmentValue, LeadActivityDay  # noqa: F401
from .forms_builder import FormDayCount, FormFollowUpRun  # noqa: F401
from .jobs import OutboxJob  # noqa: F401
from .notifications import Notification  # noqa: F401
from .nurturing import (  # noqa: F401
    EmailSuppression,
    Enrollment,
    Segment,
    SegmentMember,
    SegmentSnapshot,
    Sequence,
    SequenceStep,
    StepRun,
)
from .outbound import LeadEventSequence, WebhookDelivery, WebhookSubscription  # noqa: F401
from .privacy import ErasureTombstone, PrivacyRequest  # noqa: F401
from .rank import RANK_SYNC_SETTING, RANKED_FIELDS, RANKED_PATHS, LeadRank, rank_joined, ranked, unranked  # noqa: F401
from .rep_email import EmailTemplate, RepEmail, RepEmailPreference  # noqa: F401
from .scoring import ScoreJob, ScoringConfig, ScoringModel, ScoringRule  # noqa: F401
from .settings_changes import SettingsChange  # noqa: F401
from .telephony import CallCallback, TwilioAccount  # noqa: F401
from .work import SavedView, Task, UserPreference  # noqa: F401
