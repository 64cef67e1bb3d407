"""The event spine: one function per thing that happens to a lead (see core.py's docstring).

A package only for room: `core` holds the spine and most events, `email` the events of the email a
rep writes. Every public name is re-exported here, so callers keep `from leads.events import …`.
"""
from .core import *  # noqa: F403
from .core import ACTIVITY_KINDS, SCORED_KINDS, SUBJECT_MAX, Event, Name, publish  # noqa: F401  (named for readers)
from .email import (  # noqa: F401
    rep_email_clicked,
    rep_email_failed,
    rep_email_logged,
    rep_email_opened,
    rep_email_scheduled,
    rep_email_sent,
)
