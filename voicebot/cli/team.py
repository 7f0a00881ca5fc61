"""`voicebot worker`: process meetings from the team server's task queue."""

from __future__ import annotations

import typer
from rich.markup import escape

from voicebot.cli.app import app, console, settings


@app.command()
def worker(
    queues: str = typer.Option("meetings", "--queues", "-Q", help="Queues to take jobs from, comma-separated "
                                                                 "(one today: meetings)."),
    concurrency: int = typer.Option(1, "--concurrency", "-c", help="Meetings processed at once, each in its own "
                                                                   "process (up to about 1.4 GB of memory each)."),
) -> None:
    """Process meetings from the task queue (queue.broker_url, a Redis server) until stopped (Ctrl-C, SIGTERM).

    Start one or more on every machine that mounts the home folder and reaches the archive; each job is one
    meeting's pipeline, resumed from its checkpoints when a worker dies."""
    from voicebot import queue

    s = settings()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    queue.broker_url(s)  # no broker set: one line, before Celery starts
    console.print(f"voicebot worker: queue {', '.join(names)} on {escape(queue.redacted(s.queue.broker_url))}, "
                  f"{concurrency} at a time (Ctrl-C stops)", highlight=False)
    code = queue.run_worker(s, queues=names, concurrency=concurrency)
    if code:
        raise typer.Exit(code)
