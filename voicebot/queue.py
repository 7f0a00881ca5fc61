"""Processing on a task queue, for a team server: Celery with a Redis broker.

One task, ``voicebot.process_meeting(meeting_id, through=None)``, on two
queues: ``transcribe`` runs a meeting's transcription alone (``through=
"transcribe"``) and then puts the meeting on ``meetings``, which runs every
stage left (diarization, speakers, minutes, archive, mail). Both call
``pipeline.process``, the function ``voicebot process`` runs, which skips the
stages done and continues a transcription from its checkpoint: there is no
second implementation of a stage here. A worker takes both queues by default;
a GPU machine takes ``--queues transcribe`` and a small one ``--queues
meetings``. The stages hand their files over through the home folder every
worker mounts (and the archive they share), as they do on one machine.

Delivery: a job is acknowledged when it ends (``acks_late``), a worker takes
one job at a time (prefetch 1), a job whose worker process dies (kill -9, out
of memory) goes back to the queue at once (``task_reject_on_worker_lost``),
and Redis hands an unacknowledged job to another worker only after
``queue.visibility_timeout`` (longer than the longest job). A job delivered
twice is harmless: the meeting's lock turns away a second worker while the
first runs (``pipeline.Busy``), a later run skips what is done, and the outbox
never queues the same minutes twice for one address.

A failed stage is tried again after ``queue.retry_seconds``, up to
``pipeline.max_attempts`` (the pipeline counts the attempts and raises the
incident). When a worker starts it puts back on the queue every unfinished
meeting nobody is working on (its lock is free): a server that lost power,
or a Redis that lost its queue, catches up when a worker comes back. Every
``queue.sweep_seconds`` each worker also puts back the meetings left
``running`` by a worker that died whole (a machine lost), which Redis would
only hand out again after the visibility timeout.
"""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlsplit, urlunsplit

from voicebot import recordings
from voicebot.config import Settings
from voicebot.errors import UserError

TRANSCRIBE = "transcribe"  # a meeting's transcription alone (the heaviest stage: a GPU machine's queue)
QUEUE = "meetings"  # every stage of a meeting still to run
QUEUES = (TRANSCRIBE, QUEUE)
TASK = "voicebot.process_meeting"
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}

log = logging.getLogger("voicebot.queue")


class QueueUnavailable(UserError):
    """The broker cannot be reached (the web answers 503: try again later)."""

    exit_code = 3


def broker_url(settings: Settings) -> str:
    url = settings.queue.broker_url.strip()
    if not url:
        raise UserError("no task queue: set queue.broker_url (VOICEBOT_QUEUE_BROKER_URL), e.g. "
                        "redis://127.0.0.1:6379/0")
    if urlsplit(url).scheme not in ("redis", "rediss"):
        raise UserError(f"queue.broker_url {redacted(url)!r}: give a Redis URL, redis://HOST:PORT/DB")
    return url


def redacted(url: str) -> str:
    """The broker URL without its password (for status lines and errors)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def make_app(settings: Settings):
    """The Celery app for these settings, with the one task registered (it runs with these settings)."""
    from celery import Celery

    app = Celery("voicebot", broker=broker_url(settings), set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_reject_on_worker_lost=True,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": settings.queue.visibility_timeout,
                                  "socket_connect_timeout": 5},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for the broker as long as it takes
        worker_cancel_long_running_tasks_on_connection_loss=False,  # a job goes on while Redis is away
        worker_hijack_root_logger=False,
    )

    @app.task(name=TASK, bind=True, max_retries=settings.pipeline.max_attempts)
    def process_meeting(task, meeting_id: str, through: str | None = None) -> str:
        return run_job(settings, meeting_id, retry=lambda: task.retry(countdown=settings.queue.retry_seconds),
                       through=through)

    return app


_apps: dict[int, tuple[Settings, str, object]] = {}


def app_for(settings: Settings):
    """One Celery app per process and settings (the web server publishes through the same one)."""
    entry = _apps.get(id(settings))
    if entry is None or entry[0] is not settings or entry[1] != settings.queue.broker_url:
        entry = _apps[id(settings)] = (settings, settings.queue.broker_url, make_app(settings))
    return entry[2]


def run_job(settings: Settings, meeting_id: str, *, retry, through: str | None = None) -> str:
    """What a worker does with a job: the meeting's pipeline, from wherever it stopped (``through``: up to that
    stage, then the meeting goes on the queue of the stages left). ``retry()`` raises the task's retry (a stage
    failed, attempts remain); a job for a meeting another process holds is dropped."""
    from voicebot import pipeline

    try:
        job = pipeline.process(settings, meeting_id, force=False, through=through)
    except pipeline.Busy:
        log.info("%s: another process is working on it; job dropped", meeting_id)
        return "busy"
    except pipeline.StageFailed as exc:
        log.warning("%s", exc)
        if exc.gave_up:
            return "gave up"
        raise retry() from exc
    except UserError as exc:  # no such meeting, not ready: nothing a retry would change
        log.warning("%s: %s", meeting_id, exc)
        return "refused"
    done = f"done ({', '.join(job.ran) or 'nothing left to do'})"
    if through:
        hand_on(settings, meeting_id)
    return done


def hand_on(settings: Settings, meeting_id: str, *, pause: float = 1.0) -> None:
    """Put a meeting on the queue of its stages left, waiting for the broker as long as it takes: the job that
    ran the first stages is acknowledged only after this, and with the broker away no other job can start
    anyway (nothing is left waiting between two queues)."""
    import time

    while True:
        try:
            enqueue(settings, meeting_id)
            return
        except QueueUnavailable as exc:
            log.warning("%s: %s; handed on once the broker is back", meeting_id, exc)
            time.sleep(pause)
            pause = min(pause * 2, 30.0)


def queue_for(settings: Settings, meeting_id: str) -> str:
    """The queue a meeting's next job goes to: transcription first, on a queue of its own."""
    from voicebot import pipeline

    try:
        return TRANSCRIBE if pipeline.needs(settings, meeting_id, "transcribe") else QUEUE
    except (UserError, OSError):  # no such meeting: the job says so where it runs
        return QUEUE


def enqueue(settings: Settings, meeting_id: str) -> None:
    """Put a meeting's next job on its queue; QueueUnavailable when the broker cannot be reached."""
    from kombu.exceptions import OperationalError

    name = queue_for(settings, meeting_id)
    through = {"through": "transcribe"} if name == TRANSCRIBE else {}
    try:
        app_for(settings).send_task(TASK, args=[meeting_id], kwargs=through, queue=name, retry=True,
                                    retry_policy=PUBLISH_RETRY)
    except (OperationalError, OSError) as exc:
        raise QueueUnavailable(f"the task queue at {redacted(settings.queue.broker_url)} cannot be reached "
                               f"({' '.join(str(exc).split())[:200]}); try again later") from None


def requeue_unfinished(settings: Settings, *, orphans_only: bool = False) -> list[str]:
    """Put back on the queue every unfinished meeting that no process is working on and that has attempts
    left (a worker that died with its job, a queue that lost it); the ids queued. ``orphans_only``: only the
    meetings with a stage left ``running`` by a process that died (its lock is free), not those waiting. A job
    also still in the queue is then there twice, which is harmless (see the module's doc)."""
    from voicebot.archive import open_archive
    from voicebot.fsutil import exclusive_lock

    limit = settings.pipeline.max_attempts
    with open_archive(settings) as db:
        waiting = {meeting_id: db.job_stages(meeting_id) for meeting_id in db.unfinished_jobs()}
    queued = []
    for meeting_id, stages in waiting.items():
        if any(row["state"] == "failed" and row["attempts"] >= limit for row in stages.values()):
            continue  # given up: `voicebot process ID` on request
        if orphans_only and not any(row["state"] == "running" for row in stages.values()):
            continue
        directory = recordings.meeting_dir(settings.recordings_dir, meeting_id)
        if not directory.is_dir():
            continue
        with exclusive_lock(directory / recordings.PIPELINE_LOCK) as free:
            if not free:
                continue
        enqueue(settings, meeting_id)
        queued.append(meeting_id)
    return queued


def run_worker(settings: Settings, *, queues: list[str] | None = None, concurrency: int = 1,
               loglevel: str = "INFO") -> int:
    """Run a Celery worker in this process until it is stopped (SIGTERM, Ctrl-C); its exit code.

    ``concurrency`` processes each take one job at a time (prefork pool)."""
    queues = list(queues or QUEUES)
    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise UserError(f"unknown queue {', '.join(unknown)}; the queues are: {', '.join(QUEUES)}")
    if concurrency < 1:
        raise UserError("--concurrency is the number of jobs run at once: 1 or more")
    app = app_for(settings)
    try:
        requeued = requeue_unfinished(settings)
    except QueueUnavailable:
        requeued = []  # the worker waits for the broker below; the next worker to start catches up
    if requeued:
        log.warning("put back on the queue: %s", ", ".join(requeued))
    app.steps["consumer"].add(orphan_sweep(settings))
    name = f"voicebot-{os.getpid()}@{socket.gethostname()}"
    argv = ["worker", "--queues", ",".join(queues), "--concurrency", str(concurrency), "--pool", "prefork",
            "--hostname", name, "--loglevel", loglevel, "--without-gossip", "--without-mingle"]
    try:
        app.worker_main(argv=argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def orphan_sweep(settings: Settings):
    """A consumer bootstep: every ``queue.sweep_seconds``, the jobs of workers that died whole (a machine lost:
    the broker would hand their jobs out again only after the visibility timeout) go back on the queue. It runs
    on the consumer's timer, in the worker's main process, and starts again with the consumer after the broker
    was away (which clears the timer)."""
    from celery import bootsteps

    def sweep() -> None:
        try:
            queued = requeue_unfinished(settings, orphans_only=True)
        except Exception as exc:  # noqa: BLE001 -- the broker or the archive away: the next sweep tries again
            log.warning("sweep for orphaned jobs: %s", " ".join(str(exc).split())[:200])
            return
        if queued:
            log.warning("jobs whose worker died, put back on the queue: %s", ", ".join(queued))

    class OrphanSweep(bootsteps.StartStopStep):
        def __init__(self, consumer, **kwargs) -> None:
            super().__init__(consumer, **kwargs)
            self.entry = None

        def start(self, consumer) -> None:
            self.stop(consumer)
            self.entry = consumer.timer.call_repeatedly(settings.queue.sweep_seconds, sweep)

        def stop(self, consumer) -> None:
            if self.entry is not None:
                self.entry.cancel()
                self.entry = None

    return OrphanSweep


def snapshot(settings: Settings, timeout: float = 1.0) -> dict:
    """The queue as ``voicebot status`` shows it: the broker (reachable?), jobs waiting (in all, and per queue),
    the workers that answered within ``timeout`` with the meetings they are on, and the queues each takes."""
    app = app_for(settings)
    result: dict = {"broker": redacted(settings.queue.broker_url), "reachable": False, "waiting": None,
                    "queues": {}, "workers": {}, "takes": {}}
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            client = conn.default_channel.client
            result["queues"] = {name: int(client.llen(name)) for name in QUEUES}  # Redis: a queue is a list
            result["waiting"] = sum(result["queues"].values())
        result["reachable"] = True
        inspect = app.control.inspect(timeout=timeout)
        active = inspect.active() or {}
        takes = inspect.active_queues() or {}
    except Exception as exc:  # noqa: BLE001 -- status reports the broker down, whatever the error
        result["error"] = " ".join(str(exc).split())[:200]
        return result
    result["workers"] = {name: [task.get("args", [None])[0] for task in tasks] for name, tasks in active.items()}
    result["takes"] = {name: [q.get("name") for q in queues] for name, queues in takes.items()}
    return result
