"""Telephony: the phone channel. An inbound call is captured (capture's front door) and rung
through to the rep distribution picks; what follows (the agent's leg, voicemail, the status
callback) is recorded on the timeline through events (docs/telephony-twilio.md).

It drives two stages (capture and distribution), so it sits in the layer above them, beside
automations (pyproject.toml's layers contract).

calls.py       call_route and call_end: where a call rings (POST /api/v1/calls/… and Twilio's voice webhook)
call_flow.py   what follows: the agent's leg ended, the call's status, the voicemail
provider.py    Twilio's signature and fields; twiml.py the TwiML answers; views.py, urls.py its webhooks
"""
