"""Service continuity for a team server (issue 20): incidents of the service, not of a meeting.

Two things stop every meeting at once: the broker (Redis) cannot be reached, or jobs wait and no worker
that takes their queue has answered for ``queue.worker_silence_seconds`` (no worker at all, or the only
transcription machine gone while the others run). Each is an incident of its kind (``broker``,
``workers``) in the archive's incidents table, open from when it was seen until it is over. The admins
hear of it once when it opens and once when it closes: a message to ``mail.admin`` through the outbox,
and a POST of ``{"text": ...}`` to ``queue.alert_webhook`` when one is set (Slack and ntfy take it).

Who checks: ``voicebot serve``, in a thread, every ``queue.check_seconds`` (``Watch``). The web server is
the one process of a team server that runs whatever else is down (the workers may all be gone, and they
wait on the broker), and it is the one that shows the result: every logged-in page's banner and the admin
dashboard read the last check, so a page never waits for the broker. Several web servers checking at
once alert once: the archive holds at most one open incident per kind (a unique index), and only the
process whose insert opened it, or whose update closed it, sends the news.

What is checked comes from ``queue.snapshot`` (broker reachable, jobs waiting, workers answering and
their meetings), the figures ``voicebot status`` shows.

The morning report (``daily_report``): from ``queue.report_hour`` the same check mails the admins
yesterday's figures, once (the message's id is made from the day): meetings and hours recorded, meetings
not processed, emails sent, waiting and failed, and every incident of the day with how it ended.
``voicebot report`` shows it for any day and can mail it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from voicebot.config import Settings
from voicebot.errors import UserError

BROKER, WORKERS = "broker", "workers"
ANY_QUEUE = "*"  # the queues together, when a snapshot does not tell them apart
SNAPSHOT_TIMEOUT = 1.0  # seconds the broker and the workers have to answer a check
WEBHOOK_TIMEOUT = 5.0

log = logging.getLogger("voicebot.service")


@dataclass
class Health:
    """The result of one check, as the pages show it."""

    checked_at: float
    reachable: bool
    waiting: int | None  # jobs in the broker's queue (None: the broker is away)
    unfinished: int  # meetings not processed yet (the archive)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {busy: [ids], last_seen, alive}
    open: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> the open incident


def problems(snapshot: dict, *, silent: dict[str, float], silence_limit: float) -> tuple[dict[str, str], set[str]]:
    """The service's problems in a ``queue.snapshot`` ({kind: what is wrong}), and the kinds the snapshot
    tells about (the workers are unknown while the broker is away: their incident stays as it is).

    ``silent``: per queue, the seconds since a worker last answered that takes it (``served``). Jobs
    waiting in a queue that long silent is the ``workers`` incident: no worker at all, or none that takes
    that queue (the transcription machine gone while the others run)."""
    if not snapshot.get("reachable"):
        return {BROKER: f"the broker {snapshot.get('broker', '')} is unreachable"}, {BROKER}
    queues = snapshot.get("queues") or {ANY_QUEUE: snapshot.get("waiting") or 0}
    stuck = [name for name, waiting in sorted(queues.items())
             if waiting and silent.get(name, silent.get(ANY_QUEUE, 0.0)) >= silence_limit]
    found = {}
    if stuck and not snapshot.get("workers"):
        found[WORKERS] = "no worker answered"
    elif stuck:
        found[WORKERS] = f"no worker takes the {' and '.join(stuck)} queue{'s' if len(stuck) > 1 else ''}"
    return found, {BROKER, WORKERS}


def served(snapshot: dict) -> set[str]:
    """The queues that a worker answering in ``snapshot`` takes (``ANY_QUEUE`` as soon as one answers)."""
    from voicebot import queue

    takes = snapshot.get("takes") or {}
    names = {ANY_QUEUE} if snapshot.get("workers") else set()
    for worker in snapshot.get("workers") or {}:
        names.update(takes.get(worker) or queue.QUEUES)
    return names


def since(row: dict[str, Any]) -> str:
    """An incident's start, HH:MM UTC."""
    return datetime.fromisoformat(row["created_at"]).astimezone(timezone.utc).strftime("%H:%M UTC")


def banner(health: Health | None) -> str:
    """The one line every logged-in page shows while processing is degraded; empty when all is well."""
    if health is None or not health.open:
        return ""
    waiting = health.waiting if health.waiting is not None else health.unfinished
    causes = "; ".join(f"{row['error']} since {since(row)}" for _, row in sorted(health.open.items()))
    return f"Processing is delayed: {waiting} meeting{'s' if waiting != 1 else ''} waiting, {causes}."


class Watch:
    """One process's checks of the service, and the last result (``health``)."""

    def __init__(self, settings: Settings, *, snapshot: Callable[[], dict] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        from voicebot import queue

        self.settings, self.clock = settings, clock
        self.snapshot = snapshot or (lambda: queue.snapshot(settings, timeout=SNAPSHOT_TIMEOUT))
        self.started = clock()  # the silence of the workers counts from when this process started
        self.last_served: dict[str, float] = {}  # queue -> when a worker taking it last answered
        self.seen: dict[str, float] = {}  # worker name -> when it last answered
        self.health: Health | None = None
        self.reported: date | None = None  # the last day whose report this process queued
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> Health:
        """Look at the broker and the workers, open or close the service's incidents, tell the admins."""
        from voicebot.archive import open_archive

        snap = self.snapshot()
        now = self.clock()
        busy = snap.get("workers") or {}
        for name in busy:
            self.seen[name] = now
        for name in served(snap):
            self.last_served[name] = now
        silent = {name: now - self.last_served.get(name, self.started)
                  for name in (*snap.get("queues", {}), ANY_QUEUE)}
        found, known = problems(snap, silent=silent, silence_limit=self.settings.queue.worker_silence_seconds)
        with open_archive(self.settings) as db:
            unfinished = len(db.unfinished_jobs())
            waiting = snap.get("waiting")
            for kind in sorted(known):
                if kind in found:
                    detail = f"{waiting} job(s) in the queue" if waiting is not None else f"{unfinished} unfinished"
                    opened = db.open_service_incident(kind, found[kind], detail)
                    if opened is not None:
                        row = next(r for r in db.service_incidents(open_only=True) if r["id"] == opened)
                        tell(self.settings, db, row, opened=True, waiting=waiting if waiting is not None
                             else unfinished)
                else:
                    closed = db.close_service_incident(kind)
                    if closed is not None:
                        tell(self.settings, db, closed, opened=False, waiting=unfinished)
            still = {row["kind"]: row for row in db.service_incidents(open_only=True)}
        workers = {name: {"busy": busy.get(name, []), "alive": name in busy,
                          "last_seen": datetime.fromtimestamp(seen, timezone.utc).isoformat()}
                   for name, seen in sorted(self.seen.items())}
        self.health = Health(checked_at=now, reachable=bool(snap.get("reachable")), waiting=waiting,
                             unfinished=unfinished, workers=workers, open=still)
        self._report(datetime.fromtimestamp(now).astimezone())
        return self.health

    def _report(self, now: datetime) -> None:
        """Yesterday's report, once the report hour has come (once per process; the outbox keeps it to once)."""
        hour = self.settings.queue.report_hour
        yesterday = now.date() - timedelta(days=1)
        if hour < 0 or now.hour < hour or self.reported == yesterday:
            return
        send_daily_report(self.settings, yesterday)
        self.reported = yesterday

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 -- the archive away, a bug: the next check tries again
                log.warning("service check: %s", " ".join(str(exc).split())[:300])
            self._stop.wait(self.settings.queue.check_seconds)

    def start(self) -> Watch:
        """Check every ``queue.check_seconds`` in a thread of this process, until ``stop()``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="voicebot-service-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def tell(settings: Settings, db, row: dict[str, Any], *, opened: bool, waiting: int) -> None:
    """Tell the admins that a service incident opened or closed: by mail through the outbox (sent at once
    if possible) and by the webhook, once each."""
    from voicebot import mail

    if opened:
        subject = f"voicebot: processing is delayed, {row['error']}"
        text = (f"Since {since(row)}, {row['error']}: meetings are not processed ({waiting} waiting). "
                f"They will be once it is fixed. (service incident #{row['id']}; one more message when it is over)")
    else:
        subject = f"voicebot: processing is back ({row['kind']})"
        text = (f"Over: {row['error']} since {since(row)} (service incident #{row['id']}). "
                f"Processing goes on; {waiting} meeting(s) not processed yet.")
    news = "that it opened" if opened else "that it is over"
    try:
        queued = db.enqueue(mail.compose_service_alert(settings, key=f"{row['id']}:{'open' if opened else 'closed'}",
                                                       subject=subject, body=text))
        mail.deliver(db, settings)
        db.incident_event(row["id"], f"admins mailed {news} ({settings.mail.admin})" if queued
                          else "no mail to the admins: mail.admin is not set")
    except UserError as exc:  # a bad mail.admin or sender: `voicebot doctor` says why; the webhook still goes
        log.warning("service alert not mailed: %s", exc)
        db.incident_event(row["id"], f"admins not mailed: {exc}")
    log.warning("%s", text)
    if settings.queue.alert_webhook.strip():
        taken = post_webhook(settings.queue.alert_webhook, text)
        db.incident_event(row["id"], f"webhook told {news}" if taken else "the webhook did not take the alert")


def post_webhook(url: str, text: str) -> bool:
    """POST ``{"text": text}`` to the webhook (Slack's incoming webhooks, ntfy...); whether it was taken."""
    if not url.strip():
        return False
    import httpx

    try:
        reply = httpx.post(url.strip(), json={"text": text}, timeout=WEBHOOK_TIMEOUT)
    except httpx.HTTPError as exc:
        log.warning("alert webhook: %s", exc)
        return False
    if reply.status_code >= 400:
        log.warning("alert webhook answered HTTP %s", reply.status_code)
        return False
    return True


# --- the morning report ----------------------------------------------------------------------------------


def daily_report(settings: Settings, day: date) -> tuple[str, str]:
    """(subject, text) of the report on ``day`` (a day of the server's time zone): see the module's docstring."""
    from voicebot.archive import open_archive
    from voicebot.pipeline import STAGE_NAMES

    start = datetime(day.year, day.month, day.day).astimezone()
    end = start + timedelta(days=1)

    def on_day(stamp: str | None) -> bool:
        return bool(stamp) and start <= datetime.fromisoformat(stamp).astimezone() < end

    with open_archive(settings) as db:
        meetings = db.list_meetings(since=start, until=end - timedelta(microseconds=1))
        stages_of = {m["id"]: db.job_stages(m["id"]) for m in meetings}
        happened = [r for r in db.incidents(limit=10000) if on_day(r["created_at"])]
        later = {r["meeting_id"]: db.job_stages(r["meeting_id"]) for r in happened if r["meeting_id"]}
        mail = {status: len(db.outbox_list(status)) for status in ("sent", "pending", "failed")}
        sent_that_day = sum(on_day(m.sent_at) for m in db.outbox_list("sent"))
    hours = sum(float(m["duration"] or 0) for m in meetings) / 3600

    def finished(stages: dict) -> bool:
        return [stages.get(name, {}).get("state") for name in STAGE_NAMES] == ["done"] * len(STAGE_NAMES)

    unprocessed = [m for m in meetings if not finished(stages_of[m["id"]])]
    lines = [f"voicebot on {day.isoformat()} ({settings.web_address})", "",
             f"Meetings recorded or uploaded: {len(meetings)} ({hours:.1f} h of audio); not processed yet: "
             f"{len(unprocessed)}" + (f" ({', '.join(m['id'] for m in unprocessed[:10])})" if unprocessed else ""),
             f"Emails sent that day: {sent_that_day}; waiting now: {mail['pending']}; failed for good: "
             f"{mail['failed']}", "", f"Incidents: {len(happened) or 'none'}"]
    for row in sorted(happened, key=lambda r: r["created_at"]):
        when = datetime.fromisoformat(row["created_at"]).astimezone().strftime("%H:%M")
        if row.get("kind", "meeting") != "meeting":
            if row["resolved_at"]:
                lasted = datetime.fromisoformat(row["resolved_at"]) - datetime.fromisoformat(row["created_at"])
                ended = f"over after {max(1, round(lasted.total_seconds() / 60))} min"
            else:
                ended = "still going on"
            lines.append(f"- {when} service: {row['error']}: {ended}")
        else:
            stages = later.get(row["meeting_id"], {})
            ended = "processed since" if finished(stages) else "not processed yet (`voicebot process` retries it)"
            lines.append(f"- {when} meeting {row['meeting_id']}, stage {row['stage']}: {row['error'][:200]}: {ended}")
    trouble = len(unprocessed) + mail["failed"] + sum(1 for r in happened if not r["resolved_at"]
                                                     and r.get("kind", "meeting") != "meeting")
    subject = (f"voicebot, {day.isoformat()}: {len(meetings)} meeting{'s' if len(meetings) != 1 else ''}, "
               f"{hours:.1f} h" + (f", {trouble} to look at" if trouble else ", all well"))
    return subject, "\n".join(lines)


def send_daily_report(settings: Settings, day: date) -> int:
    """Queue the report on ``day`` for the admins (mail.admin) and send it; 1 when queued, 0 when it was
    already (or no admin is set)."""
    from voicebot import mail
    from voicebot.archive import open_archive

    subject, text = daily_report(settings, day)
    with open_archive(settings) as db:
        queued = db.enqueue(mail.compose_service_alert(settings, key=f"report:{day.isoformat()}", subject=subject,
                                                       body=text))
        try:
            mail.deliver(db, settings)
        except UserError as exc:
            log.warning("daily report not mailed: %s", exc)
    return queued
