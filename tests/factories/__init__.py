"""factory_boy factories for every model a test creates: `from tests.factories import LeadFactory`.
core.py has users, roles, teams, leads, customers and automations; stages.py one section per stage;
platform.py the rows of the libraries underneath (API tokens, TOTP devices, axes attempts, admin log)."""

from .core import *  # noqa: F403
from .core import role_group  # noqa: F401
from .platform import *  # noqa: F403
from .stages import *  # noqa: F403
