"""Telephony providers' webhooks, in front of the call routing of leads.distribution (Twilio first:
docs/telephony-twilio.md). A provider's module checks its signature and reads its fields; the
routing, the timeline and first contact stay in leads.distribution.calls and call_flow."""
