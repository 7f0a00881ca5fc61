"""Delivering the outbox to a real SMTP server (aiosmtpd on localhost, started
by the tests) through the real archive (SQLite file under a temporary home).

The server can be told to answer 451 once, 550 for one address, drop the
connection after DATA, be down and then up, require STARTTLS and a login
(with a self-signed certificate made here), or speak implicit TLS. Time is
controlled by passing ``now`` to ``deliver``, never by sleeping."""

from __future__ import annotations

import collections
import datetime as dt
import email
import fcntl
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from email import policy
from pathlib import Path

import pytest
from conftest import run_cli

from voicebot import schema
from voicebot.archive import open_archive
from voicebot.config import load_settings
from voicebot.errors import UserError
from voicebot.mail import compose, compose_alert, deliver
from voicebot.mail.delivery import LOCK_FILE, backoff
from voicebot.mail.transport import parse_smtp_url

pytestmark = pytest.mark.slow  # real SMTP servers on localhost

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MEETING_ID = "20260312-083000-website-launch-1a2b"
PEOPLE = [("Alice", "alice@example.org"), ("Bob", "bob@example.org"), ("Carol", "carol@example.org"),
          ("David", "david@example.org")]


# --- a real SMTP server that can misbehave on demand ---------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


class Handler:
    def __init__(self) -> None:
        self.on_data = None  # called with each message received, before the server answers
        self.received: list[Received] = []
        self.reject: dict[str, str] = {}  # address -> permanent reply to RCPT
        self.data_replies: list[str] = []  # replies to DATA, used up before accepting
        self.drop_after_data = 0  # how many times to drop the connection after receiving a message

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        if self.on_data is not None:
            self.on_data()
        if self.drop_after_data:
            self.drop_after_data -= 1
            server.transport.close()  # the message arrived; the client never hears the 250
        return "250 2.0.0 queued"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, **smtp_kwargs) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.kwargs = smtp_kwargs
        self.controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def by_message_id(self) -> collections.Counter:
        return collections.Counter(r.message_id for r in self.handler.received)


@pytest.fixture
def smtpd():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def down_smtpd():
    """A server that is not running yet (the test starts it)."""
    server = SmtpServer()
    yield server
    server.stop()


# --- the meeting, its minutes and outbox, in a real archive ---------------------------------


def _mail_settings(s):
    s.mail.sender = "Voicebot <minutes@example.org>"
    s.mail.retry_base = 60.0
    s.mail.retry_max = 3600.0
    s.smtp.timeout = 10.0
    return s


@pytest.fixture
def settings(home):
    """Settings with the archive in SQLite under a temporary home."""
    return _mail_settings(load_settings())


@pytest.fixture
def db_settings(archive_settings):
    """The same, once with SQLite and once with PostgreSQL (the archive's two backends)."""
    return _mail_settings(archive_settings)


def _queue_minutes(settings, *, people=PEOPLE, extra_items=()) -> list:
    minutes = schema.Minutes.from_dict(schema.read_json(SAMPLES / "meeting-en.expected.json"))
    minutes.action_items += list(extra_items)
    meeting = schema.Meeting(id=MEETING_ID, title=minutes.title, started_at="2026-03-12T09:30:00+01:00",
                             invitees=[schema.Person(n, e) for n, e in people], status="recorded")
    messages, problems = compose(minutes, meeting, settings, markdown="# Website launch weekly meeting\n")
    assert problems == []
    with open_archive(settings) as db:
        db.save_meeting(meeting, directory=settings.recordings_dir / MEETING_ID)
        db.save_minutes(MEETING_ID, minutes, "# Website launch weekly meeting\n", outbox=messages)
    return messages


def _now(offset_seconds: float = 0) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset_seconds)


def _deliver(settings, now=None) -> dict:
    with open_archive(settings) as db:
        return deliver(db, settings, now=now or _now(1))


def _outbox(settings) -> dict[str, object]:
    with open_archive(settings) as db:
        return {m.recipient: m for m in db.outbox_list()}


# --- the tests ---------------------------------------------------------------------------


def test_attendees_and_absentees_receive_their_own_messages(db_settings, smtpd):
    db_settings.smtp.url = smtpd.url
    david_item = schema.ActionItem("David", "Review the French user guide", "2026-03-20", 67.3, 72.2)
    queued = _queue_minutes(db_settings, extra_items=[david_item])
    report = _deliver(db_settings)
    assert (report["sent"], report["retry"], report["failed"]) == (4, 0, 0)
    assert report["transport"] == smtpd.url and report["maildir"] is None

    received = {r.rcpt_tos[0]: r for r in smtpd.handler.received}
    assert sorted(received) == [e for _, e in PEOPLE]
    ids = {m.recipient: m.message_id for m in queued}
    for address, got in received.items():
        msg = got.message
        assert got.mail_from == "minutes@example.org" and got.rcpt_tos == [address]
        assert msg["To"].addresses[0].addr_spec == address
        assert msg["Message-ID"] == ids[address]
        assert msg.get_content_type() == "multipart/mixed"
        assert msg.get_body(preferencelist=("plain",)) is not None and msg.get_body(preferencelist=("html",)) is not None
        assert "minutes-2026-03-12.md" in [p.get_filename() for p in msg.iter_attachments()]

    bob, david = received["bob@example.org"].message, received["david@example.org"].message
    assert bob["Subject"].strip().startswith("Minutes: Website launch weekly meeting")
    assert bob["X-Voicebot-Kind"] == "attendee"
    assert "Send the signed contract to Blue Cloud" in bob.get_body(preferencelist=("plain",)).get_content()
    assert david["Subject"].strip().startswith("You missed Website launch weekly meeting")
    assert david["X-Voicebot-Kind"] == "absentee"
    david_text = david.get_body(preferencelist=("plain",)).get_content()
    assert david_text.index("Review the French user guide") < david_text.index("DECISIONS")
    ics = next(p for p in david.iter_attachments() if p.get_filename().endswith(".ics"))
    assert ics.get_content_type() == "text/calendar" and "DUE;VALUE=DATE:20260320" in ics.get_content()

    assert {m.status for m in _outbox(db_settings).values()} == {"sent"}
    assert _deliver(db_settings, _now(7200))["due"] == 0  # nothing goes twice
    assert len(smtpd.handler.received) == 4
    # composing and saving the same minutes again queues nothing new
    messages, _ = compose(schema.Minutes.from_dict(schema.read_json(SAMPLES / "meeting-en.expected.json")),
                          schema.Meeting(id=MEETING_ID, title="x", started_at="2026-03-12T09:30:00+01:00",
                                         invitees=[schema.Person(n, e) for n, e in PEOPLE]), db_settings)
    with open_archive(db_settings) as db:
        assert db.enqueue(messages) == 0


def test_451_then_accepted_is_delivered_once_after_retry(db_settings, smtpd):
    db_settings.smtp.url = smtpd.url
    _queue_minutes(db_settings)
    smtpd.handler.data_replies = ["451 4.3.0 Mailbox busy, try again later"]
    now = _now(1)
    report = _deliver(db_settings, now)
    assert (report["sent"], report["retry"], report["failed"]) == (3, 1, 0)
    [retried] = [m for m in report["messages"] if m["status"] == "retry"]
    assert retried["error"] == "451 4.3.0 Mailbox busy, try again later"
    waiting = _outbox(db_settings)[retried["recipient"]]
    assert waiting.status == "pending" and waiting.attempts == 1
    wait = (dt.datetime.fromisoformat(waiting.next_attempt_at) - now).total_seconds()
    assert 60 / 2 - 1 <= wait <= 60 + 1  # first backoff: retry_base, half of it jittered

    assert _deliver(db_settings, now)["due"] == 0  # not before its time
    report = _deliver(db_settings, now + dt.timedelta(seconds=61))
    assert (report["sent"], report["retry"]) == (1, 0)
    assert len(smtpd.handler.received) == 4 and set(smtpd.by_message_id().values()) == {1}
    assert {m.status for m in _outbox(db_settings).values()} == {"sent"}


def test_550_for_one_address_fails_it_and_delivers_the_others(db_settings, smtpd):
    db_settings.smtp.url = smtpd.url
    _queue_minutes(db_settings)
    smtpd.handler.reject["bob@example.org"] = "550 5.1.1 <bob@example.org>: Recipient address rejected"
    report = _deliver(db_settings)
    assert (report["sent"], report["retry"], report["failed"]) == (3, 0, 1)
    outbox = _outbox(db_settings)
    assert outbox["bob@example.org"].status == "failed"
    assert outbox["bob@example.org"].last_error == "550 5.1.1 <bob@example.org>: Recipient address rejected"
    assert all(m.status == "sent" for a, m in outbox.items() if a != "bob@example.org")
    assert sorted(r.rcpt_tos[0] for r in smtpd.handler.received) == ["alice@example.org", "carol@example.org",
                                                                     "david@example.org"]
    with open_archive(db_settings) as db:
        assert db.stats(_now())["outbox_failed"] == 1  # what `voicebot status` shows
    assert _deliver(db_settings, _now(86400))["due"] == 0  # a permanent failure is not retried by itself

    # the address is fixed on the server side: `voicebot outbox retry` sends it
    del smtpd.handler.reject["bob@example.org"]
    result = run_cli("outbox", "retry", env={"VOICEBOT_SMTP_URL": smtpd.url, "VOICEBOT_MAIL_SENDER": "minutes@example.org",
                                             "VOICEBOT_DATABASE_URL": db_settings.database.url})
    assert result.returncode == 0, result.stderr
    assert "1 message back in the queue" in result.stdout and "sent" in result.stdout
    assert _outbox(db_settings)["bob@example.org"].status == "sent"
    assert len(smtpd.handler.received) == 4


def test_server_down_then_up_delivers_everything(db_settings, down_smtpd):
    db_settings.smtp.url = down_smtpd.url
    db_settings.mail.max_attempts = 3
    queued = _queue_minutes(db_settings)
    now = _now(1)
    report = _deliver(db_settings, now)
    assert (report["sent"], report["retry"], report["failed"]) == (0, 4, 0)
    assert all("connection refused" in m["error"] for m in report["messages"])
    assert {m.attempts for m in _outbox(db_settings).values()} == {1}

    report = _deliver(db_settings, now + dt.timedelta(hours=1))
    assert report["retry"] == 4 and {m.attempts for m in _outbox(db_settings).values()} == {2}
    report = _deliver(db_settings, now + dt.timedelta(hours=3))  # third attempt: max_attempts reached
    assert report["failed"] == 4
    assert all("gave up after 3 attempts" in m.last_error for m in _outbox(db_settings).values())

    down_smtpd.start()
    assert _deliver(db_settings, now + dt.timedelta(hours=4))["due"] == 0  # failed ones wait for a retry
    with open_archive(db_settings) as db:
        assert db.outbox_requeue() == 4
    report = _deliver(db_settings, _now(1))
    assert report["sent"] == 4
    assert sorted(down_smtpd.by_message_id()) == sorted(m.message_id for m in queued)
    assert set(down_smtpd.by_message_id().values()) == {1}


def test_server_down_then_up_within_the_attempts(settings, down_smtpd):
    settings.smtp.url = down_smtpd.url
    _queue_minutes(settings)
    now = _now(1)
    assert _deliver(settings, now)["retry"] == 4
    down_smtpd.start()
    report = _deliver(settings, now + dt.timedelta(seconds=settings.mail.retry_base + 1))
    assert report["sent"] == 4 and len(down_smtpd.handler.received) == 4


def test_connection_dropped_after_data_gives_at_most_one_duplicate(db_settings, smtpd):
    db_settings.smtp.url = smtpd.url
    queued = _queue_minutes(db_settings)
    smtpd.handler.drop_after_data = 1
    now = _now(1)
    report = _deliver(db_settings, now)
    # the first message reached the server, but its 250 never came back: it stays pending
    assert report["retry"] >= 1 and "closed the connection" in report["messages"][0]["error"]
    report = _deliver(db_settings, now + dt.timedelta(hours=1))
    assert report["failed"] == 0
    assert {m.status for m in _outbox(db_settings).values()} == {"sent"}
    counts = smtpd.by_message_id()
    assert sorted(counts) == sorted(m.message_id for m in queued)  # everyone got theirs
    assert sorted(counts.values()) == [1, 1, 1, 2]  # exactly one duplicate, with the same Message-ID
    twice = [r for r in smtpd.handler.received if counts[r.message_id] == 2]
    assert twice[0].data == twice[1].data  # the very same bytes, so clients show it once


def test_sender_killed_between_sending_and_marking_sent(settings, smtpd):
    """A real crash: `voicebot outbox send` is SIGKILLed while the server holds its first
    message (received, not yet answered). The next run sends that one again: one duplicate,
    same Message-ID, and nothing lost."""
    queued = _queue_minutes(settings)
    env = {**os.environ, "VOICEBOT_SMTP_URL": smtpd.url, "VOICEBOT_MAIL_SENDER": "minutes@example.org"}
    sender = subprocess.Popen([sys.executable, "-m", "voicebot", "outbox", "send"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def crash() -> None:
        smtpd.handler.on_data = None
        sender.kill()
        sender.wait(timeout=30)

    smtpd.handler.on_data = crash
    sender.wait(timeout=120)
    assert sender.returncode == -signal.SIGKILL
    assert len(smtpd.handler.received) == 1
    first = smtpd.handler.received[0].message_id
    outbox = {m.message_id: m for m in _outbox(settings).values()}
    assert outbox[first].status == "pending"  # the crash came before it was marked sent

    settings.smtp.url = smtpd.url
    report = _deliver(settings)
    assert report["sent"] == 4 and report["failed"] == 0
    counts = smtpd.by_message_id()
    assert sorted(counts) == sorted(m.message_id for m in queued)
    assert counts[first] == 2 and sorted(counts.values()) == [1, 1, 1, 2]


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_and_login_with_a_self_signed_certificate(settings, tmp_path):
    from aiosmtpd.smtp import AuthResult

    cert, key = _certificate(tmp_path)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.login.decode())
        ok = auth_data.login == b"bot@example.org" and auth_data.password == b"s3cret-pw!"
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    server = SmtpServer(tls_context=_server_tls(cert, key), require_starttls=True, authenticator=authenticator,
                        auth_required=True)
    server.start()
    try:
        _queue_minutes(settings)
        settings.smtp.url = f"smtp://bot%40example.org@127.0.0.1:{server.port}?starttls=true&cafile={cert}"
        settings.smtp.password = "wrong-password-123"
        report = _deliver(settings)
        assert report["retry"] == 4 and "login refused" in report["messages"][0]["error"]
        dumped = json.dumps(report) + "".join(m.last_error for m in _outbox(settings).values())
        assert "wrong-password-123" not in dumped

        settings.smtp.password = "s3cret-pw!"
        report = _deliver(settings, _now(3600))
        assert report["sent"] == 4 and report["transport"].endswith("(STARTTLS)")
        assert "bot@example.org" in logins and len(server.handler.received) == 4

        # without trusting the certificate, TLS fails and says what to do
        settings.mail.admin = "ops@example.org"
        with open_archive(settings) as db:
            db.enqueue(compose_alert(settings, meeting_id=MEETING_ID, stage="minutes", error="boom"))
        settings.smtp.url = f"smtp://bot%40example.org@127.0.0.1:{server.port}?starttls=true"
        report = _deliver(settings, _now(3600))
        assert report["retry"] == 1 and "cafile" in report["messages"][0]["error"]
    finally:
        server.stop()


def test_implicit_tls(settings, tmp_path):
    cert, key = _certificate(tmp_path)
    server = SmtpServer()
    from aiosmtpd.controller import Controller

    server.controller = Controller(server.handler, hostname="127.0.0.1", port=server.port,
                                   ssl_context=_server_tls(cert, key))
    server.controller.start()
    try:
        _queue_minutes(settings)
        settings.smtp.url = f"smtps://127.0.0.1:{server.port}?cafile={cert}"
        report = _deliver(settings)
        assert report["sent"] == 4 and report["transport"].startswith("smtps://")
        assert len(server.handler.received) == 4
    finally:
        server.stop()


def test_internationalized_address_goes_with_smtputf8(settings, smtpd):
    settings.smtp.url = smtpd.url
    people = PEOPLE[:3] + [("Zoé", "zoé@exemple.fr")]
    _queue_minutes(settings, people=people)
    report = _deliver(settings)
    assert report["sent"] == 4
    zoe = next(r for r in smtpd.handler.received if r.rcpt_tos == ["zoé@exemple.fr"])
    msg = email.message_from_string(zoe.data.decode("utf-8"), policy=policy.default)
    assert msg["To"].addresses[0].addr_spec == "zoé@exemple.fr"
    assert msg["Subject"].strip().startswith("You missed")


def test_silent_server_times_out_and_is_retried(settings):
    settings.smtp.timeout = 1.0
    with socket.socket() as listener:  # accepts connections (backlog) but never says a word
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        settings.smtp.url = f"smtp://127.0.0.1:{listener.getsockname()[1]}"
        _queue_minutes(settings)
        report = _deliver(settings)
    assert report["retry"] == 4 and "timed out" in report["messages"][0]["error"]
    assert {m.status for m in _outbox(settings).values()} == {"pending"}


def test_server_without_smtputf8_fails_only_the_international_address(settings):
    server = SmtpServer(enable_SMTPUTF8=False)
    server.start()
    try:
        settings.smtp.url = server.url
        _queue_minutes(settings, people=PEOPLE[:3] + [("Zoé", "zoé@exemple.fr")])
        report = _deliver(settings)
        assert (report["sent"], report["failed"]) == (3, 1)
        failed = _outbox(settings)["zoé@exemple.fr"]
        assert failed.status == "failed" and "SMTPUTF8" in failed.last_error
    finally:
        server.stop()


def test_maildir_when_no_smtp_server_is_set(settings):
    queued = _queue_minutes(settings)
    report = _deliver(settings)
    maildir = settings.home / "outbox"
    assert report["sent"] == 4 and report["maildir"] == str(maildir)
    files = sorted((maildir / "new").glob("*.eml"))
    assert len(files) == 4 and len(list((maildir / "new").iterdir())) == 4  # no temp file left behind
    ids = {email.message_from_bytes(f.read_bytes(), policy=policy.default)["Message-ID"] for f in files}
    assert ids == {m.message_id for m in queued}
    import mailbox

    box = mailbox.Maildir(maildir, create=False)
    assert sorted(m["To"] for m in box) == sorted(f"{n} <{e}>" for n, e in PEOPLE)

    # delivering the same messages again (a crash before they were marked sent) replaces the files
    with open_archive(settings) as db:
        for m in db.outbox_list():
            db.outbox_mark_failed(m.id, "pretend we crashed")
        db.outbox_requeue()
    assert _deliver(settings)["sent"] == 4
    assert len(list((maildir / "new").glob("*.eml"))) == 4

    # forgetting the meeting also removes its mail copies (the archive finds them by Message-ID)
    with open_archive(settings) as db:
        db.forget_meeting(MEETING_ID)
    assert not list((maildir / "new").glob("*.eml"))


def test_alerts_go_to_the_admin(settings, smtpd):
    settings.smtp.url = smtpd.url
    assert compose_alert(settings, meeting_id=MEETING_ID, stage="transcribe", error="boom") == []
    settings.mail.admin = "ops@example.org"
    with open_archive(settings) as db:
        assert db.enqueue(compose_alert(settings, meeting_id=MEETING_ID, stage="transcribe", error="boom")) == 1
        assert db.enqueue(compose_alert(settings, meeting_id=MEETING_ID, stage="transcribe", error="boom")) == 0
    assert _deliver(settings)["sent"] == 1
    [got] = smtpd.handler.received
    assert got.rcpt_tos == ["ops@example.org"] and "transcribe failed" in got.message["Subject"]


def test_one_delivery_at_a_time(settings, smtpd):
    settings.smtp.url = smtpd.url
    _queue_minutes(settings)
    with open(settings.home / LOCK_FILE, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        report = _deliver(settings)
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    assert report["busy"] and report["due"] == 0 and not smtpd.handler.received
    assert _deliver(settings)["sent"] == 4


def test_backoff_grows_and_is_capped(settings):
    settings.mail.retry_base, settings.mail.retry_max = 60.0, 3600.0
    for attempts, full in [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (20, 3600)]:
        waits = [backoff(attempts, settings) for _ in range(50)]
        assert all(full / 2 <= w <= full for w in waits)
        assert max(waits) > min(waits)  # jittered


def test_smtp_url_parsing_never_shows_the_password():
    config = parse_smtp_url("smtp://user%40example.org:pw-in-url@mail.example.org:587", timeout=5)
    assert (config.host, config.port, config.starttls, config.username) == ("mail.example.org", 587, True,
                                                                            "user@example.org")
    assert config.password == "pw-in-url" and "pw-in-url" not in repr(config) + config.describe()
    assert parse_smtp_url("smtps://mail.example.org").port == 465
    assert parse_smtp_url("smtp://mail.example.org").starttls is False
    assert parse_smtp_url("smtp://h:2525?starttls=true&verify=false").verify is False
    for bad in ("http://mail.example.org", "smtp://:pw-secret@", "smtp://h:notaport", "smtp://h?starttls=maybe",
                "smtp://h?tls=1"):
        with pytest.raises(UserError) as info:
            parse_smtp_url(bad, password="pw-secret")
        assert "pw-secret" not in str(info.value)


def test_cli_list_send_and_bad_settings(settings, smtpd):
    _queue_minutes(settings)
    env = {"VOICEBOT_SMTP_URL": smtpd.url, "VOICEBOT_MAIL_SENDER": "minutes@example.org", "COLUMNS": "200"}
    listed = run_cli("outbox", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "pending" in listed.stdout and "david@example.org" in listed.stdout
    sent = run_cli("outbox", "send", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "4 sent, 0 to retry, 0 failed" in sent.stdout and len(smtpd.handler.received) == 4
    as_json = json.loads(run_cli("outbox", "list", "--json", "--status", "sent", env=env).stdout)
    assert len(as_json) == 4 and {m["status"] for m in as_json} == {"sent"}
    again = run_cli("outbox", "send", env=env)
    assert again.returncode == 0 and "Nothing to send" in again.stdout

    bad = run_cli("outbox", "send", env={"VOICEBOT_SMTP_URL": "smtp://user:hunter2@", "VOICEBOT_SMTP_PASSWORD": "x"})
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "smtp.url" in bad.stderr and "hunter2" not in bad.stderr
    missing = run_cli("outbox", "retry", "999", env=env)
    assert missing.returncode == 2 and "no outbox message with id 999" in missing.stderr


def test_cli_send_without_smtp_says_where_the_mail_went(settings):
    _queue_minutes(settings)
    result = run_cli("outbox", "send", env={"VOICEBOT_MAIL_SENDER": "minutes@example.org"})
    assert result.returncode == 0, result.stderr
    assert "Maildir" in result.stdout and str(settings.home / "outbox") in result.stdout.replace("\n", "")
    assert len(list((settings.home / "outbox" / "new").glob("*.eml"))) == 4
