"""Take raw RFC 822 messages, as a mail server's pipe delivers them:

    python manage.py ingest_email < message.eml          (Postfix: "| manage.py ingest_email")
    python manage.py ingest_email a.eml b.eml ...

Each message is handled in its own transaction; one bad message never costs the others.
The exit code is 75 (EX_TEMPFAIL: the mail server keeps the message and retries) only when
a message could not be stored at all.
"""

import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from leads.capture.email import email_ingest

EX_TEMPFAIL = 75
NOT_STORED = "{count} message(s) could not be stored; the mail server should retry them."


class Command(BaseCommand):
    help = "Ingest raw RFC 822 email messages (files, or one message on standard input) through the email channel."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="Message files (.eml); standard input when none is given.")
        parser.add_argument(
            "--source-detail", default="pipe", help='Recorded as the lead\'s source detail (default "pipe").'
        )

    def _inputs(self, options):
        """(label, raw bytes or the error that kept it from being read) for each message."""
        if not options["files"]:
            stdin = options.get("stdin") or sys.stdin
            yield "<stdin>", getattr(stdin, "buffer", stdin).read()
            return
        for name in options["files"]:
            try:
                yield name, Path(name).read_bytes()
            except OSError as exc:
                yield name, exc

    def handle(self, *args, **options):
        outcomes: Counter[str] = Counter()
        failed = 0
        for label, raw in self._inputs(options):
            if isinstance(raw, OSError):
                failed += 1
                self.stderr.write(f"{label}: not read: {raw.strerror or raw}")
                continue
            if isinstance(raw, str):
                raw = raw.encode("utf-8", "surrogateescape")
            try:
                result = email_ingest(raw=raw, source_detail=options["source_detail"])
            except DatabaseError as exc:
                # The message could not even be stored as malformed: report it and go on.
                failed += 1
                self.stderr.write(f"{label}: not stored: {type(exc).__name__}: {exc}")
                continue
            kind = "duplicate" if result.duplicate else result.kind
            outcomes[kind] += 1
            lead = f" lead #{result.lead.pk}{' (created)' if result.created else ''}" if result.lead else ""
            reason = f" ({result.reason})" if result.reason and not result.duplicate else ""
            self.stdout.write(f"{label}: {kind}{lead}{reason}")
        summary = ", ".join(f"{count} {kind}" for kind, count in sorted(outcomes.items())) or "nothing"
        self.stdout.write(f"{sum(outcomes.values())} message(s) taken: {summary}; {failed} failed.")
        if failed:
            raise CommandError(NOT_STORED.format(count=failed), returncode=EX_TEMPFAIL)
