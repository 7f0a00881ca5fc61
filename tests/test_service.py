"""Service continuity's quick checks (voicebot.service): the service incidents in the archive (one open per
kind, on SQLite and PostgreSQL), one alert when an incident opens and one when it closes (mail through the
outbox to a Maildir, a webhook POST to a local HTTP server), the workers' silence, the banner every logged-in
page shows and the admin's view of the service. Real parts: a real archive, a real HTTP server, the real
application in-process; the broker's answers are given. The slow test stops and starts a real redis-server
under a real `voicebot serve`, with a real SMTP server on localhost."""

from __future__ import annotations

import json
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from voicebot import service
from voicebot.archive import open_archive

DOWN = {"broker": "redis://127.0.0.1:9/0", "reachable": False, "waiting": None, "workers": {}}


def up(waiting: int = 0, **workers: list) -> dict:
    return {"broker": "redis://127.0.0.1:9/0", "reachable": True, "waiting": waiting, "workers": workers}


class Hook:
    """A tiny local HTTP server recording the bodies POSTed to it (the admins' webhook)."""

    def __init__(self) -> None:
        self.bodies: list = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- http.server's name
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


def test_one_open_service_incident_per_kind(archive_settings):
    with open_archive(archive_settings) as db:
        first = db.open_service_incident("broker", "the broker is unreachable")
        assert first is not None
        assert db.open_service_incident("broker", "the broker is unreachable") is None  # another process
        assert db.open_service_incident("workers", "no worker answered") is not None
        db.add_incident("m1", "transcribe", "boom")  # meeting incidents are not limited
        db.add_incident("m1", "transcribe", "boom")
        assert {r["kind"] for r in db.service_incidents(open_only=True)} == {"broker", "workers"}
        closed = db.close_service_incident("broker")
        assert closed["id"] == first and closed["resolved_at"]
        assert db.close_service_incident("broker") is None
        again = db.open_service_incident("broker", "the broker is unreachable")
        assert again not in (None, first)
        assert len(db.service_incidents()) == 3 and len(db.incidents()) == 5
        assert [e["event"] for e in db.incident(first)["timeline"]] == ["opened: the broker is unreachable", "over"]
        db.set_incident_note(first, "  Redis restarted by hand.  ", "ann")
        noted = db.incident(first)
        assert (noted["note"], noted["note_by"]) == ("Redis restarted by hand.", "ann")
        assert noted["timeline"][-1]["event"] == "note written by ann"
        meeting_incident = next(r for r in db.incidents() if r["kind"] == "meeting")
        assert [e["event"] for e in db.incident(meeting_incident["id"])["timeline"]] == ["stage transcribe failed: boom"]


def admin_mail(settings) -> list:
    folder = settings.maildir / "new"
    return [message_from_bytes(p.read_bytes()) for p in sorted(folder.iterdir())] if folder.is_dir() else []


def test_broker_down_alerts_once_then_once_when_back(home, hook):
    from voicebot.config import load_settings

    settings = load_settings({"VOICEBOT_HOME": str(home), "VOICEBOT_MAIL_ADMIN": "ops@example.org",
                              "VOICEBOT_QUEUE_BROKER_URL": DOWN["broker"], "VOICEBOT_QUEUE_ALERT_WEBHOOK": hook.url,
                              "VOICEBOT_QUEUE_REPORT_HOUR": "-1"})  # the morning report: its own test
    answers = [DOWN, DOWN, DOWN, up(), up()]
    watch = service.Watch(settings, snapshot=lambda: answers.pop(0))
    health = watch.check()
    assert set(health.open) == {"broker"} and not health.reachable
    assert "Processing is delayed: 0 meetings waiting, the broker redis://127.0.0.1:9/0 is unreachable since" \
           in service.banner(health)
    watch.check()
    service.Watch(settings, snapshot=lambda: answers.pop(0)).check()  # a second web server checks too
    mails = admin_mail(settings)
    assert len(mails) == 1 and "processing is delayed" in mails[0]["Subject"] and mails[0]["To"] == "ops@example.org"
    assert len(hook.bodies) == 1 and "unreachable" in hook.bodies[0]["text"]
    health = watch.check()
    assert health.open == {} and service.banner(health) == ""
    watch.check()
    mails = admin_mail(settings)
    assert len(mails) == 2 and any("processing is back" in m["Subject"] for m in mails)
    assert len(hook.bodies) == 2 and hook.bodies[1]["text"].startswith("Over: ")
    with open_archive(settings) as db:
        (row,) = db.service_incidents()
        assert row["kind"] == "broker" and row["resolved_at"]
        timeline = [e["event"] for e in db.incident(row["id"])["timeline"]]
    assert timeline == ["opened: the broker redis://127.0.0.1:9/0 is unreachable (0 unfinished)",
                        "admins mailed that it opened (ops@example.org)", "webhook told that it opened", "over",
                        "admins mailed that it is over (ops@example.org)", "webhook told that it is over"]


def test_workers_silent_while_jobs_wait(home):
    from voicebot.config import load_settings

    settings = load_settings({"VOICEBOT_HOME": str(home), "VOICEBOT_QUEUE_WORKER_SILENCE_SECONDS": "60",
                              "VOICEBOT_QUEUE_BROKER_URL": DOWN["broker"]})
    now = [1000.0]
    answer = [up(2, **{"w1@host": ["m1"]})]
    watch = service.Watch(settings, snapshot=lambda: answer[0], clock=lambda: now[0])
    assert watch.check().open == {}
    answer[0] = up(2)  # the worker is gone, two jobs wait
    now[0] += 59
    assert watch.check().open == {}
    now[0] += 2
    health = watch.check()
    assert set(health.open) == {"workers"} and "no worker answered since" in service.banner(health)
    assert health.workers["w1@host"]["alive"] is False
    answer[0] = DOWN  # the broker away: the workers' incident stays open, the broker's opens
    assert set(watch.check().open) == {"broker", "workers"}
    answer[0] = up(0)  # nothing waits any more
    assert watch.check().open == {}
    assert service.problems(up(0), silent={"*": 1e9}, silence_limit=60) == ({}, {"broker", "workers"})


def test_jobs_waiting_in_a_queue_no_worker_takes(home):
    """The transcription machine is gone while a worker of the other queue still answers: an incident too."""
    from voicebot.config import load_settings

    settings = load_settings({"VOICEBOT_HOME": str(home), "VOICEBOT_QUEUE_WORKER_SILENCE_SECONDS": "60",
                              "VOICEBOT_QUEUE_BROKER_URL": DOWN["broker"]})
    now = [1000.0]

    def snap(transcribe: int, meetings: int, **takes: list) -> dict:
        return {**up(transcribe + meetings, **{name: [] for name in takes}),
                "queues": {"transcribe": transcribe, "meetings": meetings}, "takes": takes}

    answer = [snap(0, 0, gpu=["transcribe"], small=["meetings"])]
    watch = service.Watch(settings, snapshot=lambda: answer[0], clock=lambda: now[0])
    assert watch.check().open == {}
    answer[0] = snap(2, 1, small=["meetings"])  # the GPU worker is gone; the small one still takes its queue
    now[0] += 59
    assert watch.check().open == {}
    now[0] += 2
    health = watch.check()
    assert set(health.open) == {"workers"}
    assert "no worker takes the transcribe queue since" in service.banner(health)
    answer[0] = snap(0, 2, small=["meetings"])  # nothing waits for transcription any more: over
    assert watch.check().open == {}
    answer[0] = snap(1, 0, small=["meetings"], gpu2=["transcribe", "meetings"])  # a worker that takes both
    now[0] += 600
    assert watch.check().open == {}


def test_the_morning_report_tells_the_admins_about_yesterday_once(home):
    from datetime import datetime, timedelta

    from archive_samples import store_meeting

    from voicebot.config import load_settings
    from voicebot.mail import compose_service_alert

    settings = load_settings({"VOICEBOT_HOME": str(home), "VOICEBOT_MAIL_ADMIN": "ops@example.org",
                              "VOICEBOT_QUEUE_BROKER_URL": DOWN["broker"], "VOICEBOT_QUEUE_REPORT_HOUR": "7"})
    morning = datetime.now().astimezone().replace(hour=8, minute=0, second=0, microsecond=0)
    yesterday = morning - timedelta(days=1)
    with open_archive(settings) as db:
        for n, hour in enumerate((9, 14)):  # two meetings yesterday, one processed, one failed in transcription
            meeting_id = f"{yesterday:%Y%m%d}-{hour:02d}0000-sync-{n}abc"
            store_meeting(db, home, meeting_id, f"Sync {n}", yesterday.replace(hour=hour).isoformat(),
                          [("Ana", "Hello.")])
            db.backend.execute("UPDATE meetings SET duration = 1800.0 WHERE id = ?", (meeting_id,))
        store_meeting(db, home, f"{morning:%Y%m%d}-090000-today-9abc", "Today", morning.replace(hour=9).isoformat(),
                      [("Ana", "Hello.")])  # not yesterday: not counted
        for stage in ("transcribe", "diarize", "speakers", "minutes", "archive", "send"):
            db.set_stage(f"{yesterday:%Y%m%d}-090000-sync-0abc", stage, "done")
        db.set_stage(f"{yesterday:%Y%m%d}-140000-sync-1abc", "transcribe", "failed", error="out of memory")
        failed = db.add_incident(f"{yesterday:%Y%m%d}-140000-sync-1abc", "transcribe", "out of memory")
        broker = db.open_service_incident("broker", "the broker is unreachable")
        db.close_service_incident("broker")
        at = yesterday.replace(hour=15).astimezone().isoformat()
        db.backend.execute("UPDATE incidents SET created_at = ? WHERE id IN (?, ?)", (at, failed, broker))
        db.backend.execute("UPDATE incidents SET resolved_at = ? WHERE id = ?",
                           ((yesterday.replace(hour=15, minute=12)).astimezone().isoformat(), broker))
        db.enqueue(compose_service_alert(settings, key="waiting", subject="x", body="y"))  # an email waiting
    subject, text = service.daily_report(settings, yesterday.date())
    assert subject == f"voicebot, {yesterday.date()}: 2 meetings, 1.0 h, 1 to look at"
    assert "Meetings recorded or uploaded: 2 (1.0 h of audio); not processed yet: 1" in text
    assert "15:00 service: the broker is unreachable: over after 12 min" in text
    assert "15:00 meeting" in text and "out of memory: not processed yet" in text
    # serve's check mails it once the report hour has come, once (a second server, a restart: still once)
    watch = service.Watch(settings, snapshot=lambda: up(), clock=lambda: morning.timestamp() - 2 * 3600)
    watch.check()
    assert not [m for m in admin_mail(settings) if m["Subject"] == subject]  # 06:00: not yet
    for clock in (morning.timestamp(), morning.timestamp() + 60):
        service.Watch(settings, snapshot=lambda: up(), clock=lambda: clock).check()
    reports = [m for m in admin_mail(settings) if m["Subject"] == subject]
    assert len(reports) == 1 and reports[0]["To"] == "ops@example.org"
    assert "Emails sent that day: 0; waiting now: 0" in service.daily_report(settings, yesterday.date())[1]


def test_banner_for_every_logged_in_user_and_the_admins_view(home):
    from fastapi.testclient import TestClient
    from web_helpers import csrf_of, login

    from voicebot.config import load_settings
    from voicebot.web.app import create_app
    from voicebot.web.auth import hash_password

    settings = load_settings({"VOICEBOT_HOME": str(home), "VOICEBOT_QUEUE_BROKER_URL": DOWN["broker"]})
    with open_archive(settings) as db:
        db.add_user("ann", hash_password("correct horse battery"), email="ann@example.org", role="admin")
        db.add_user("bob", hash_password("correct horse battery"), email="bob@example.org", role="member")
    app = create_app(settings)
    http = TestClient(app, base_url="http://127.0.0.1:8000")  # not started: no check thread, the health is given
    assert "Processing is delayed" not in http.get("/login").text
    app.state.watch.snapshot = lambda: DOWN
    app.state.watch.check()
    for name in ("bob", "ann"):
        http.cookies.clear()
        assert "Processing is delayed" not in http.get("/login").text  # not logged in: nothing about the server
        login(http, name, "correct horse battery")
        for path in ("/", "/meetings", "/search"):
            text = http.get(path, headers={"Accept": "text/html"}).text
            assert "Processing is delayed: 0 meetings waiting, the broker" in text, (name, path)
        dashboard = http.get("/", headers={"Accept": "text/html"}).text
        assert ("Processing service" in dashboard) == (name == "ann")
        if name == "ann":
            assert "unreachable" in dashboard and "<strong>open</strong>" in dashboard
    # the incident's page: its timeline and the post-incident note, for admins only
    with open_archive(settings) as db:
        (row,) = db.service_incidents()
    path = f"/admin/incidents/{row['id']}"
    assert f'href="{path}"' in dashboard
    page = http.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "opened: the broker" in page.text and "no mail to the admins" in page.text
    csrf = csrf_of(page.text)
    saved = http.post(f"{path}/note", data={"note": "Redis ran out of memory; maxmemory raised.", "csrf_token": csrf},
                      follow_redirects=False)
    assert saved.status_code == 303
    page = http.get(path, headers={"Accept": "text/html"}).text
    assert "Redis ran out of memory; maxmemory raised.</textarea>" in page and "By ann" in page
    assert "note written by ann" in page
    assert http.get("/admin/incidents/999999", headers={"Accept": "text/html"}).status_code == 404
    http.cookies.clear()
    login(http, "bob", "correct horse battery")
    assert http.get(path, headers={"Accept": "text/html"}).status_code == 403
    assert http.post(f"{path}/note", data={"note": "mine", "csrf_token": csrf_of(http.get("/").text)}).status_code == 403
    with open_archive(settings) as db:
        assert db.incident(row["id"])["note"] == "Redis ran out of memory; maxmemory raised."


@pytest.mark.slow
def test_redis_stopped_then_started_on_a_real_server(tmp_path, hook):
    """A real redis-server, `voicebot serve` (its check every second), a real SMTP server on localhost and the
    webhook: Redis stopped -> one incident, one mail, one POST, the banner for a plain user; Redis started
    again -> the incident closed, one more mail and POST, no banner."""
    import httpx
    from test_team_server import redis_and_smtp
    from web_helpers import login

    from bench.teamserver import TeamServer, add_uploader, wait_for
    from voicebot.config import load_settings
    from voicebot.web.auth import hash_password

    home = tmp_path / "server"
    home.mkdir(mode=0o700)
    redis, smtp = redis_and_smtp(tmp_path)
    env = {"VOICEBOT_HOME": str(home), "VOICEBOT_QUEUE_BROKER_URL": redis.url, "VOICEBOT_SMTP_URL": smtp.url,
           "VOICEBOT_MAIL_ADMIN": "ops@example.org", "VOICEBOT_QUEUE_CHECK_SECONDS": "1",
           "VOICEBOT_QUEUE_ALERT_WEBHOOK": hook.url, "VOICEBOT_QUEUE_REPORT_HOUR": "-1"}  # no morning report here
    settings = load_settings(env)
    token = add_uploader(settings)
    with open_archive(settings) as db:
        db.add_user("bob", hash_password("correct horse battery"), email="bob@example.org", role="member")
    team = None
    try:
        team = TeamServer(env, token, workers=0)
        http = httpx.Client(base_url=team.url, timeout=30)
        assert login(http, "bob", "correct horse battery").status_code == 303

        def page() -> str:
            return http.get("/meetings", headers={"Accept": "text/html"}).text

        def incidents() -> list:
            with open_archive(settings) as db:
                return db.service_incidents()

        time.sleep(2)  # a few checks with Redis up: nothing to tell
        assert incidents() == [] and "Processing is delayed" not in page()
        redis.stop()
        wait_for(lambda: len(incidents()) == 1 and len(hook.bodies) == 1 and len(smtp.handler.received) == 1,
                 30, lambda: f"no alert: {incidents()} {hook.bodies} {team.read('serve.log')}")
        wait_for(lambda: "Processing is delayed" in page(), 10, "no banner")
        assert "the broker redis://127.0.0.1:" in page() and "is unreachable since" in page()
        time.sleep(4)  # more checks while Redis is away: no second incident or alert
        (opened,) = incidents()
        assert opened["kind"] == "broker" and opened["resolved_at"] is None
        assert len(hook.bodies) == 1 and len(smtp.handler.received) == 1
        assert smtp.handler.received[0].rcpt_tos == ["ops@example.org"]
        redis.start()
        wait_for(lambda: incidents()[0]["resolved_at"] and len(hook.bodies) == 2
                 and len(smtp.handler.received) == 2, 30,
                 lambda: f"not closed: {incidents()} {hook.bodies} {team.read('serve.log')}")
        time.sleep(3)
        assert len(incidents()) == 1 and len(hook.bodies) == 2 and len(smtp.handler.received) == 2
        assert hook.bodies[1]["text"].startswith("Over: ") and "Processing is delayed" not in page()
    finally:
        if team is not None:
            team.stop()
        redis.stop()
        smtp.stop()
