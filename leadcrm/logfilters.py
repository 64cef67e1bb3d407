"""Logging filters (settings.LOGGING)."""

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """A 4xx answer (a 403 for a rep opening a manager's page, a 404) is the client's mistake, not
    ours: log its one line, not the traceback of the PermissionDenied or Http404 behind it."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
