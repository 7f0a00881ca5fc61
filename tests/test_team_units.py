"""The team server's quick checks: the [queue] settings, the Celery app's delivery settings, the one-line
errors of `voicebot worker`.

The CLI runs in a subprocess. No broker runs here (tests/test_team_server.py starts a real Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voicebot.config import load_settings
from voicebot.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
CLOSED = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


def voicebot(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m voicebot ARGS`` from this checkout, with no VOICEBOT_* setting but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    return subprocess.run([sys.executable, "-m", "voicebot", *args], capture_output=True, text=True, timeout=60,
                          env={**clean, "PYTHONPATH": str(ROOT), **env})


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- settings and the Celery app -----------------------------------------------------------------------


def test_queue_settings_default_and_from_the_environment():
    settings = load_settings({})
    assert settings.queue.broker_url == "" and settings.queue.visibility_timeout == 12 * 3600
    settings = load_settings({"VOICEBOT_QUEUE_BROKER_URL": "redis://10.0.0.5:6379/1",
                              "VOICEBOT_QUEUE_VISIBILITY_TIMEOUT": "7200"})
    assert settings.queue.broker_url == "redis://10.0.0.5:6379/1"
    assert settings.queue.visibility_timeout == 7200.0
    with pytest.raises(UserError, match="queue.visibility_timeout"):
        load_settings({"VOICEBOT_QUEUE_VISIBILITY_TIMEOUT": "soon"})


def test_celery_app_takes_long_jobs_safely():
    from voicebot import queue

    settings = load_settings({"VOICEBOT_QUEUE_BROKER_URL": "redis://:s3cret@127.0.0.1:6379/0"})
    app = queue.make_app(settings)
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == settings.queue.visibility_timeout
    assert conf.task_default_queue == queue.QUEUE and queue.TASK in app.tasks
    assert queue.app_for(settings) is queue.app_for(settings)
    assert "s3cret" not in queue.redacted(settings.queue.broker_url)
    for url, problem in (("", "no task queue"), ("amqp://127.0.0.1", "give a Redis URL")):
        with pytest.raises(UserError, match=problem):
            queue.broker_url(load_settings({"VOICEBOT_QUEUE_BROKER_URL": url}))


# --- the command line's errors: one line each ------------------------------------------------------------


def test_worker_errors_are_one_line(tmp_path):
    assert "queue.broker_url" in one_error_line(voicebot("worker", VOICEBOT_HOME=str(tmp_path)))
    line = one_error_line(voicebot("worker", "--queues", "gpu", VOICEBOT_HOME=str(tmp_path),
                                   VOICEBOT_QUEUE_BROKER_URL=CLOSED))
    assert "unknown queue gpu" in line and "meetings" in line
