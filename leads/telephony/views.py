"""Twilio's voice webhooks (docs/telephony-twilio.md):

- POST /telephony/twilio/voice: a call comes in (the phone number's "A call comes in" webhook);
- POST /telephony/twilio/dial: the agent's leg ended (the <Dial> action), or the voicemail was taken;
- POST /telephony/twilio/status: the call's status callback, and the voicemail recording's.

The signature comes first: a missing or wrong X-Twilio-Signature is a 403 before any field is read
(counted per client address: a flood of them is a 429 that cannot use up Twilio's own limit), then
the account's rate, then the fields (400 with a message per field). The answers are TwiML; the work
on the request path is a few indexed statements, and what follows (emails) goes through jobs.
"""

from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from .call_flow import (
    CALL_STATUSES,
    LEG_STATUSES,
    call_leg_ended,
    call_status_record,
    call_voicemail_record,
)
from .calls import CallError, call_route
from .provider import (
    CALL_SID,
    CALL_SID_INVALID,
    DIRECTION_NOT_INBOUND,
    FIELD_INVALID,
    FIELD_REQUIRED,
    RATE_LIMITED,
    RECORDING_SID,
    Fields,
    TwilioRejected,
    caller_number,
    twilio_form,
    twilio_public_base,
    twilio_verify,
)
from .twiml import twiml_empty, twiml_hangup, twiml_route

TWIML = "text/xml; charset=utf-8"


def _twilio_webhook(view):
    """POST only, no CSRF (the signature is the authentication), signature and rate checked
    first; rejections and routing errors as JSON with a message per field."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        try:
            form = _signed_form(request)
            return HttpResponse(view(request, form), content_type=TWIML)
        except TwilioRejected as exc:
            return JsonResponse(exc.errors, status=exc.status)
        except CallError as exc:
            return JsonResponse({exc.field: exc.message}, status=exc.status)

    return wrapped


def _signed_form(request: HttpRequest) -> QueryDict:
    form = twilio_form(request=request)
    try:
        account_sid = twilio_verify(request=request, form=form)
    except TwilioRejected:
        if is_ratelimited(
            request,
            group="twilio-unsigned",
            key="ip",
            rate=settings.WEBHOOK_UNSIGNED_RATE,
            increment=True,
        ):
            raise TwilioRejected({"detail": RATE_LIMITED}, status=429) from None
        raise
    if is_ratelimited(
        request,
        group=f"twilio:{account_sid}",
        key=lambda group, request: group,
        rate=settings.TWILIO_RATE,
        increment=True,
    ):
        raise TwilioRejected({"detail": RATE_LIMITED}, status=429)
    return form


def _urls(request: HttpRequest) -> dict[str, str]:
    """Absolute URLs on the host Twilio called (the one it signed)."""
    base = twilio_public_base(request=request)
    return {
        "dial_url": base + reverse("telephony:twilio_dial"),
        "status_url": base + reverse("telephony:twilio_status"),
    }


@_twilio_webhook
def twilio_voice_view(request: HttpRequest, form: QueryDict) -> str:
    """A call comes in: route it (the caller's lead, its owner or the team's next agent) and ring them."""
    fields = Fields(form)
    call_sid = fields.match("CallSid", CALL_SID, CALL_SID_INVALID)
    caller, called = fields.text("From"), fields.text("To")
    direction = fields.text("Direction", required=False)
    if direction and not direction.lower().startswith("inbound"):
        fields.errors["Direction"] = DIRECTION_NOT_INBOUND
    fields.check()
    answer = call_route(from_number=caller_number(caller), to_number=called, call_id=call_sid)
    return twiml_route(answer=answer, **_urls(request))


@_twilio_webhook
def twilio_dial_view(request: HttpRequest, form: QueryDict) -> str:
    """The <Dial> ended (answered: hang up; not: the next agent, or voicemail), or <Record> did."""
    fields = Fields(form)
    call_sid = fields.match("CallSid", CALL_SID, CALL_SID_INVALID)
    leg_status = fields.choice("DialCallStatus", LEG_STATUSES, required=False)
    leg_sid = fields.match("DialCallSid", CALL_SID, CALL_SID_INVALID, required=False)
    fields.check()
    if leg_status is None:  # the voicemail's <Record> finished: its recording comes to the status URL
        return twiml_hangup()
    answer = call_leg_ended(call_id=call_sid, leg_id=leg_sid or "", leg_status=leg_status)
    if answer["answered"]:
        return twiml_hangup()
    return twiml_route(answer=answer, **_urls(request))


@_twilio_webhook
def twilio_status_view(request: HttpRequest, form: QueryDict) -> str:
    """The call's status (a final one ends it), and/or its voicemail recording."""
    fields = Fields(form)
    call_sid = fields.match("CallSid", CALL_SID, CALL_SID_INVALID)
    status = fields.choice("CallStatus", CALL_STATUSES, required=False)
    duration = fields.seconds("CallDuration")
    recording_url = fields.recording_url("RecordingUrl")
    recording_sid = fields.match("RecordingSid", RECORDING_SID, FIELD_INVALID, required=False)
    recording_status = fields.text("RecordingStatus", required=False)
    recording_seconds = fields.seconds("RecordingDuration")
    if (
        status is None
        and recording_url is None
        and "CallStatus" not in fields.errors
        and "RecordingUrl" not in fields.errors
    ):
        fields.errors["CallStatus"] = FIELD_REQUIRED
    fields.check()
    # The recording first: a completed call that left one ends as "voicemail".
    if recording_url and (recording_status or "completed").lower() == "completed":
        call_voicemail_record(
            call_id=call_sid, recording_id=recording_sid or "", url=recording_url, duration=recording_seconds
        )
    if status:
        call_status_record(call_id=call_sid, status=status, duration=duration)
    return twiml_empty()
