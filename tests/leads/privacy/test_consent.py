"""Consent proof (where, when and how each consent was given) and withdrawal, honoured by sending,
by the sequences the lead was in, and in the export."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from leads.capture.service import CaptureContext, capture
from leads.models import Consent, EmailSuppression, Enrollment, Lead
from leads.privacy.consent import CONSENT_ALREADY_WITHDRAWN, consent_withdraw
from leads.privacy.export import person_export
from leads.privacy.mailable import NOT_MAILABLE_SUPPRESSED, lead_not_mailable_reason
from tests.factories import ConsentFactory, EnrollmentFactory, SequenceFactory, WebFormFactory

pytestmark = pytest.mark.django_db

TEXT = "Yes, send me the newsletter. I can unsubscribe at any time."


@pytest.fixture
def consented(rep):
    form = WebFormFactory(name="Newsletter", key="news", consent_text=TEXT)
    data = {"email": "carla@consent.example", "first_name": "Carla", "email_opt_in": True}
    result = capture(
        data=data,
        context=CaptureContext(
            channel=Lead.Source.WEB_FORM, web_form=form, ip="192.0.2.44", user_agent="Firefox", payload=data
        ),
        consent_text=TEXT,
    )
    Lead.objects.filter(pk=result.lead.pk).update(owner=rep)
    return result


def test_the_consent_page_shows_where_when_and_how(consented, rep, client):
    client.force_login(rep)
    response = client.get(reverse("privacy:consents", args=[consented.lead.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    consent = Consent.objects.get(lead=consented.lead)
    assert TEXT in page and "Newsletter" in page and "/f/news" in page and "192.0.2.44" in page
    assert f"#{consented.record.pk}" in page and consent.capture_id == consented.record.pk
    assert consent.given_at.isoformat()[:19] in page


def test_the_consent_page_costs_the_same_queries_for_many_consents(consented, rep, client, django_assert_num_queries):
    client.force_login(rep)
    url = reverse("privacy:consents", args=[consented.lead.pk])
    client.get(url)
    # session, user with its roles, the lead, its consents with their form, capture and withdrawer.
    with django_assert_num_queries(4):
        client.get(url)
    for n in range(5):
        ConsentFactory(
            lead=consented.lead, text=f"Consent {n}", web_form=consented.record.web_form, capture=consented.record
        )
    with django_assert_num_queries(4):
        assert client.get(url).content.decode().count("Record withdrawal") == 6


def test_a_withdrawal_keeps_the_proof_and_stops_the_mail(consented, rep, client):
    lead = consented.lead
    sequence = SequenceFactory(name="Newsletter")
    EnrollmentFactory(sequence=sequence, lead=lead)
    consent = Consent.objects.get(lead=lead)
    client.force_login(rep)
    response = client.post(
        reverse("privacy:consent_withdraw", args=[lead.pk, consent.pk]), {"note": "Asked on the phone"}
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    lead.refresh_from_db()
    assert consent.withdrawn_at is not None and consent.withdrawn_by == rep and consent.text == TEXT
    assert lead.email_opt_in is False
    assert EmailSuppression.objects.get(email=lead.email).reason == EmailSuppression.Reason.WITHDRAWN
    assert lead_not_mailable_reason(lead=lead) == NOT_MAILABLE_SUPPRESSED
    enrollment = Enrollment.objects.get(lead=lead)
    assert (enrollment.status, enrollment.exit_reason) == (Enrollment.Status.EXITED, Enrollment.ExitReason.UNSUBSCRIBED)
    # An automation (or anyone) setting the opt-in again does not bring the mail back.
    Lead.objects.filter(pk=lead.pk).update(email_opt_in=True)
    lead.refresh_from_db()
    assert lead_not_mailable_reason(lead=lead) == NOT_MAILABLE_SUPPRESSED
    # The export shows it withdrawn.
    _, chunks = person_export(lead=lead, by=None, via="page")
    consents = json.loads(zipfile.ZipFile(io.BytesIO(b"".join(chunks))).read("consents.json"))
    assert consents[0]["withdrawn_at"] and consents[0]["withdrawal_note"] == "Asked on the phone"
    with pytest.raises(ValueError, match=CONSENT_ALREADY_WITHDRAWN):
        consent_withdraw(consent=consent, by=rep)


def test_marketers_read_the_proof_but_record_no_withdrawal(consented, marketer, client):
    client.force_login(marketer)
    consent = Consent.objects.get(lead=consented.lead)
    assert client.get(reverse("privacy:consents", args=[consented.lead.pk])).status_code == 200
    assert client.post(reverse("privacy:consent_withdraw", args=[consented.lead.pk, consent.pk])).status_code == 403
    assert Consent.objects.get(pk=consent.pk).withdrawn_at is None


@pytest.mark.parametrize("consent_id", ["²", "0", "99999999999999999999999", "abc"])
def test_a_bad_consent_id_is_404(consented, rep, client, consent_id):
    client.force_login(rep)
    assert client.post(f"/privacy/leads/{consented.lead.pk}/consents/{consent_id}/withdraw").status_code == 404


def test_another_leads_consent_is_404(consented, manager, client):
    other = capture(
        data={"email": "o@consent.example"}, context=CaptureContext(channel=Lead.Source.WEB_FORM), consent_text=TEXT
    ).lead
    consent = Consent.objects.get(lead=other)
    client.force_login(manager)
    assert client.post(reverse("privacy:consent_withdraw", args=[consented.lead.pk, consent.pk])).status_code == 404


def test_an_overlong_note_is_400(consented, rep, client):
    client.force_login(rep)
    consent = Consent.objects.get(lead=consented.lead)
    response = client.post(
        reverse("privacy:consent_withdraw", args=[consented.lead.pk, consent.pk]), {"note": "x" * 301}
    )
    assert response.status_code == 400
    assert Consent.objects.get(pk=consent.pk).withdrawn_at is None
