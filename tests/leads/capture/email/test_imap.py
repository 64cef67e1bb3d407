"""IMAP mailboxes, polled against a real IMAP server: Debian's Dovecot on a loopback port."""

import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from imap_tools import MailBoxUnencrypted

from leads.capture.email.imap import KEYWORD, mailboxes_poll
from leads.capture.tasks import poll_mailboxes_task
from leads.models import InboundEmail, Interaction, Lead, Mailbox
from tests.factories import MailboxFactory, TeamFactory, UserFactory
from tests.helpers import wait_for

EMAILS = Path(__file__).parent / "emails"
USERS = ("sales", "support")
PASSWORD = "secret"

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                if conn.recv(64).startswith(b"* OK"):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def dovecot():
    """A Dovecot IMAP server with the users sales and support (password "secret")."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    assert Path(binary).exists(), "Debian's dovecot-imapd is not installed (apt-get install dovecot-imapd)"
    # Not under pytest's tmp_path: its folders are private to root, and the imap processes run as dovecot.
    root = Path(tempfile.mkdtemp(prefix="leadcrm-dovecot-"))
    root.chmod(0o755)
    (root / "home").mkdir()
    shutil.chown(root / "home", "dovecot", "dovecot")
    (root / "passwd").write_text("".join(f"{user}:{{PLAIN}}{PASSWORD}::::::\n" for user in USERS))
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, port=port))
    subprocess.run([binary, "-c", str(conf)], check=True, timeout=30)
    try:
        assert wait_for_port(port), f"Dovecot did not answer on port {port}: {(root / 'dovecot.log').read_text()}"
        yield {"host": "127.0.0.1", "port": port}
    finally:
        subprocess.run(["doveadm", "-c", str(conf), "stop"], timeout=30, check=False)
        shutil.rmtree(root, ignore_errors=True)


def imap(dovecot, user: str = "sales") -> MailBoxUnencrypted:
    return MailBoxUnencrypted(dovecot["host"], dovecot["port"], timeout=10).login(user, PASSWORD)


def deliver(dovecot, *raws: bytes, user: str = "sales", flags: tuple[str, ...] = ()) -> None:
    """Put messages into a mailbox as a mail server would: IMAP APPEND."""
    with imap(dovecot, user) as box:
        for raw in raws:
            box.append(raw, "INBOX", flag_set=flags)


def server_flags(dovecot, user: str = "sales") -> list[set[str]]:
    with imap(dovecot, user) as box:
        return [set(message.flags) for message in box.fetch("ALL", mark_seen=False, headers_only=True)]


@pytest.fixture
def empty_mailboxes(dovecot):
    for user in USERS:
        with imap(dovecot, user) as box:
            uids = box.uids("ALL")
            if uids:
                box.delete(uids)
    return dovecot


def mailbox_for(dovecot, *, name: str = "Sales inbox", user: str = "sales", **extra) -> Mailbox:
    return MailboxFactory(
        name=name, host=dovecot["host"], port=dovecot["port"], use_ssl=False, username=user, password=PASSWORD, **extra
    )


def corpus(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


@pytest.mark.slow
@pytest.mark.django_db
def test_a_poll_takes_new_mail_and_marks_it_on_the_server(empty_mailboxes):
    team = TeamFactory(name="Germany")
    sales = mailbox_for(empty_mailboxes, team=team)
    deliver(empty_mailboxes, corpus("header_8bit.eml"), corpus("auto_reply.eml"), corpus("broken_mime.eml"))

    [result] = mailboxes_poll()

    assert (result.taken, result.error) == (3, "")
    assert result.kinds == {"new_lead": 1, "auto_reply": 1, "malformed": 1}
    lead = Lead.objects.get(email="joerg.mueller@beispiel-gmbh.de")
    assert (lead.first_name, lead.source, lead.source_detail, lead.team) == ("Jörg", "email", "Sales inbox", team)
    assert set(InboundEmail.objects.values_list("mailbox", flat=True)) == {sales.pk}
    assert all({"\\Seen", KEYWORD} <= flags for flags in server_flags(empty_mailboxes))
    sales.refresh_from_db()
    assert sales.last_polled_at is not None and sales.last_error == ""

    [again] = mailboxes_poll()
    assert again.taken == 0
    assert InboundEmail.objects.count() == 3


@pytest.mark.slow
@pytest.mark.django_db
def test_mail_a_person_already_opened_is_still_taken(empty_mailboxes):
    mailbox_for(empty_mailboxes)
    deliver(empty_mailboxes, corpus("multipart_alternative.eml"), flags=("\\Seen",))

    [result] = mailboxes_poll()

    assert result.taken == 1
    assert Lead.objects.filter(email="jane.doe@acme-widgets.example").exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_a_lost_mark_does_not_take_a_message_twice(empty_mailboxes):
    """The keyword is the first guard; the unique Message-ID is the second."""
    mailbox_for(empty_mailboxes)
    deliver(empty_mailboxes, corpus("multipart_alternative.eml"))
    mailboxes_poll()
    lead = Lead.objects.get()
    timeline = lead.interactions.count()
    with imap(empty_mailboxes) as box:
        box.client.uid("STORE", ",".join(box.uids("ALL")), "-FLAGS", f"(\\Seen {KEYWORD})")

    [result] = mailboxes_poll()

    assert result.taken == 1 and result.kinds == {"new_lead": 1}  # seen again, recognised as taken
    assert InboundEmail.objects.count() == 1 and Lead.objects.count() == 1
    assert lead.interactions.count() == timeline
    assert all(KEYWORD in flags for flags in server_flags(empty_mailboxes))


@pytest.mark.slow
@pytest.mark.django_db
def test_one_failing_mailbox_is_recorded_and_does_not_stop_the_others(empty_mailboxes):
    wrong_password = mailbox_for(empty_mailboxes, name="A wrong password")
    Mailbox.objects.filter(pk=wrong_password.pk).update(password="not-the-password")
    nobody_listening = MailboxFactory(
        name="B nobody listening", host="127.0.0.1", port=free_port(), use_ssl=False, username="x", password="y"
    )
    support = mailbox_for(empty_mailboxes, name="C support", user="support")
    deliver(empty_mailboxes, corpus("html_only.eml"), user="support")

    results = {result.mailbox: result for result in mailboxes_poll()}

    assert results["C support"].taken == 1
    assert Lead.objects.filter(email="carlos@ruiz-logistica.es", source_detail="C support").exists()
    wrong_password.refresh_from_db()
    nobody_listening.refresh_from_db()
    support.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in wrong_password.last_error
    assert "ConnectionRefusedError" in nobody_listening.last_error
    assert support.last_error == "" and support.last_polled_at is not None

    # Once the password is fixed, the next poll clears the error.
    Mailbox.objects.filter(pk=wrong_password.pk).update(password=PASSWORD)
    mailboxes_poll()
    wrong_password.refresh_from_db()
    assert wrong_password.last_error == ""


@pytest.mark.slow
@pytest.mark.django_db
def test_inactive_mailboxes_are_not_polled(empty_mailboxes):
    mailbox_for(empty_mailboxes, is_active=False)
    deliver(empty_mailboxes, corpus("html_only.eml"))

    assert mailboxes_poll() == []
    assert not Lead.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_polls_the_mailboxes_on_a_real_worker(empty_mailboxes, celery_worker_live):
    mailbox_for(empty_mailboxes)
    deliver(empty_mailboxes, corpus("encoded_words.eml"))

    poll_mailboxes_task.delay()

    assert wait_for(
        lambda: Lead.objects.filter(email="zoe@nordic-design.example", processed_at__isnull=False).exists()
    ), "the worker took no mail"
    assert wait_for(lambda: Mailbox.objects.filter(last_polled_at__isnull=False).exists())
    assert Interaction.objects.filter(kind=Interaction.Kind.EMAIL_IN, subject="Demo før oss 😊").exists()
    schedule = settings.CELERY_BEAT_SCHEDULE["poll-mailboxes"]
    assert schedule["task"] == poll_mailboxes_task.name


# --- Admin ---------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_the_mailbox_password_is_never_shown_and_kept_when_left_empty(superuser_client):
    mailbox = MailboxFactory(name="Sales", host="imap.example", username="sales@x.example", password="s3cr3t-pw")

    page = superuser_client.get(f"/admin/leads/mailbox/{mailbox.pk}/change/")
    saved = superuser_client.post(
        f"/admin/leads/mailbox/{mailbox.pk}/change/",
        {
            "name": "Sales EU",
            "host": "imap.example",
            "port": 993,
            "use_ssl": "on",
            "username": "sales@x.example",
            "password": "",
            "folder": "INBOX",
            "is_active": "on",
            "team": "",
        },
    )

    assert page.status_code == 200 and "s3cr3t-pw" not in page.content.decode()
    assert saved.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.password) == ("Sales EU", "s3cr3t-pw")


@pytest.mark.slow
@pytest.mark.django_db
def test_admins_can_poll_a_mailbox_now(superuser_client, empty_mailboxes):
    mailbox = mailbox_for(empty_mailboxes)
    deliver(empty_mailboxes, corpus("attachment.eml"))

    response = superuser_client.post(
        "/admin/leads/mailbox/", {"action": "poll_now", "_selected_action": [mailbox.pk]}, follow=True
    )

    assert response.status_code == 200
    assert re.search(r"Sales inbox: 1 message\(s\) taken", response.content.decode())
    assert Lead.objects.filter(email="priya@brightpath.example").exists()


@pytest.mark.django_db
def test_a_new_mailbox_needs_a_password(superuser_client):
    from leads.admin import PASSWORD_REQUIRED

    response = superuser_client.post(
        "/admin/leads/mailbox/add/",
        {
            "name": "Sales",
            "host": "imap.example",
            "port": 993,
            "use_ssl": "on",
            "username": "sales@x.example",
            "password": "",
            "folder": "INBOX",
            "is_active": "on",
            "team": "",
        },
    )

    assert response.status_code == 200 and PASSWORD_REQUIRED in response.content.decode()
    assert not Mailbox.objects.exists()
