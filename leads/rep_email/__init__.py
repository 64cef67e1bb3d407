"""A rep's own email from the lead (or customer) page (docs/reps.md).

  templates.py  the rep's templates and snippets, and managers' shared ones (who sees, who edits)
  compose.py    placeholders rendered in nurturing's sandbox, recipients, may-we-mail (and the
                recorded override), the sender, the message row (send now or at a time)
  sending.py    the send: claim the row, SMTP through the configured backend, record (Message-ID,
                timeline), retries with backoff, the sweep of due rows
  tracking.py   signed open pixel and click links (nurturing's scheme, salts of their own)
  threads.py    the timeline's email conversations (sent and received, by Message-ID)
  page.py       what the lead and customer pages show (compose, threads, outgoing messages)
  reactions.py  a bounce marks the rep's message; tasks.py the Celery tasks (thin, by id)

Replies thread back without anything here: the Message-ID is stored as an OutboundMessage, which
the email channel (leads.capture.email) matches against In-Reply-To/References.
"""
