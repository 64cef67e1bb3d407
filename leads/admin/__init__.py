"""The admin's entry point. Django's autodiscovery imports only `<app>/admin.py` (here this package), so
it imports every stage's admin module, each registering its own models:

- core.py: leads with their timeline, teams, interactions;
- workspace.py: the rep's tasks, saved views and preferences;
- leads/capture/admin.py, leads/enrichment/admin.py, leads/scoring/admin.py, leads/distribution/admin.py,
  leads/nurturing/admin.py, leads/automations/admin.py, leads/telephony/admin.py: each stage's models and actions.

The names other modules (customers/admin.py) and tests import from `leads.admin` are re-exported here.
"""

from ..automations import admin as automations_admin
from ..capture import admin as capture_admin
from ..capture.admin import HOSTS_NOT_LIST, PASSWORD_KEPT, PASSWORD_REQUIRED, LogAdmin
from ..distribution import admin as distribution_admin
from ..distribution.admin import ASSIGN_QUEUED, PHONE_NUMBERS_NOT_LIST, ReadOnlyAdmin
from ..enrichment import admin as enrichment_admin
from ..nurturing import admin as nurturing_admin
from ..privacy import admin as privacy_admin
from ..scoring import admin as scoring_admin
from ..scoring.admin import TRAIN_QUEUED
from ..telephony import admin as telephony_admin
from . import core, workspace
from .core import InteractionAdmin, LeadAdmin, TeamAdmin

__all__ = [
    "ASSIGN_QUEUED",
    "HOSTS_NOT_LIST",
    "PASSWORD_KEPT",
    "PASSWORD_REQUIRED",
    "PHONE_NUMBERS_NOT_LIST",
    "TRAIN_QUEUED",
    "InteractionAdmin",
    "LeadAdmin",
    "LogAdmin",
    "ReadOnlyAdmin",
    "TeamAdmin",
    "automations_admin",
    "capture_admin",
    "core",
    "distribution_admin",
    "enrichment_admin",
    "nurturing_admin",
    "privacy_admin",
    "scoring_admin",
    "telephony_admin",
    "workspace",
]
