"""factory_boy factories for every model a test creates: `from tests.factories import LeadFactory`.
core.py has users, roles, teams, leads and customers; stages.py one section per stage."""
from .core import *  # noqa: F403
from .core import role_group  # noqa: F401
from .stages import *  # noqa: F403
