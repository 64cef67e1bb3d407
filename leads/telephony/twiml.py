"""The TwiML answers, built with twilio's own VoiceResponse."""

from django.conf import settings
from twilio.twiml.voice_response import VoiceResponse

VOICEMAIL_PROMPT = "Sorry, nobody can take your call right now. Please leave a message after the tone."
VOICEMAIL_SECONDS = 120


def twiml_route(*, answer: dict, dial_url: str, status_url: str) -> str:
    """Ring the agent in `answer["dial"]` (the dial action hears how that leg ended and rings the next
    one), or take a voicemail when nobody can answer."""
    response = VoiceResponse()
    if answer.get("route") != "voicemail" and answer.get("dial"):
        dial = response.dial(
            action=dial_url, method="POST", timeout=settings.TWILIO_RING_SECONDS, answer_on_bridge=True
        )
        dial.number(answer["dial"])
        return str(response)
    response.say(VOICEMAIL_PROMPT)
    # After the recording Twilio requests `action` (it would otherwise request this same voice URL
    # again, and record again); the recording itself arrives, once ready, at the status callback.
    response.record(
        max_length=VOICEMAIL_SECONDS,
        play_beep=True,
        action=dial_url,
        method="POST",
        recording_status_callback=status_url,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    response.hangup()  # nothing recorded (the caller said nothing): Twilio goes on to the next verb
    return str(response)


def twiml_hangup() -> str:
    """The call is over for us: hang up (or, in a status callback, nothing to do)."""
    response = VoiceResponse()
    response.hangup()
    return str(response)


def twiml_empty() -> str:
    """An acknowledged callback."""
    return str(VoiceResponse())
