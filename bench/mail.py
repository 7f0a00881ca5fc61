"""Mail: composing and delivering the minutes of a long meeting; the outbox against direct sending.

Input: a synthetic meeting (60 minutes of transcript, ~150 words a minute,
French and English sentences from a seeded generator; 12 invitees, 8
present; 10 decisions and 20 dated action items), the transcript attached.
Quick mode: 10 minutes, 6 invitees.

Ours: compose -> outbox (in the archive, one transaction with the minutes)
-> ``deliver`` (each message marked sent as soon as the server accepted it),
to a real aiosmtpd server on localhost; and the Maildir fallback.
Peer: the same bytes handed to smtplib on one connection, nothing recorded
(what a script without an outbox does). The difference is what never losing
a message costs. Figures only; nothing here fails on timing.

    python -m bench.mail [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import smtplib
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.pgserver import free_port

EN = ("we need to finish the test plan before the launch", "the budget for the stand is still open",
      "I will send the contract to the supplier", "let's move the release to next month",
      "the customers asked for a French version", "can you check the hosting costs")
FR = ("il faut finir le plan de test avant le lancement", "le budget du stand n'est pas encore fixé",
      "je m'occupe d'envoyer le contrat au fournisseur", "on décale la sortie au mois prochain",
      "les clients demandent une version anglaise", "tu peux vérifier les coûts d'hébergement")


def _meeting(minutes_long: int, people: int, rng: random.Random):
    from voicebot import schema

    names = [f"Person{i:02d}" for i in range(people)]
    segments, t = [], 0.0
    while t < minutes_long * 60:
        words = " ".join(rng.choice(EN if rng.random() < 0.5 else FR) for _ in range(rng.randint(1, 3)))
        duration = len(words.split()) / 2.5  # ~150 words a minute
        segments.append(schema.Segment(t, t + duration, words.capitalize() + ".", speaker=rng.choice(names[:8])))
        t += duration + 0.3
    transcript = schema.Transcript(language="en", duration=t, model="bench", engine="synthetic", segments=segments)
    meeting = schema.Meeting(id="20260312-083000-bench-mail-0001", title="Quarterly planning",
                             started_at="2026-03-12T09:30:00+01:00",
                             invitees=[schema.Person(n, f"{n.lower()}@example.org") for n in names])
    present = names[: max(1, people * 2 // 3)]
    minutes = schema.Minutes(
        title=meeting.title, date="2026-03-12", duration=t, language="en", present=present,
        absent=[n for n in names if n not in present], summary=" ".join(s.text for s in segments[:12]),
        decisions=[schema.Decision(segments[i].text, segments[i].start, segments[i].end) for i in range(10)],
        action_items=[schema.ActionItem(names[i % people], segments[20 + i].text, f"2026-03-{13 + i % 15:02d}",
                                        segments[20 + i].start, segments[20 + i].end) for i in range(20)],
        next_meeting="2026-03-19T10:00")
    return meeting, minutes, transcript


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def run(quick: bool, out_dir: Path) -> dict:
    from aiosmtpd.controller import Controller

    from voicebot.archive import open_archive
    from voicebot.config import Settings
    from voicebot.mail import compose, deliver
    from voicebot.mail.messages import compose_minutes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    minutes_long, people, repeats = (10, 6, 3) if quick else (60, 12, 5)
    meeting, minutes, transcript = _meeting(minutes_long, people, random.Random(7))
    markdown = f"# {minutes.title}\n\n" + "\n".join(f"- {d.text}" for d in minutes.decisions)

    sink = _Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home))
            settings.mail.sender = "minutes@example.org"
            settings.mail.attach_transcript = True

            compose_times = []
            for _ in range(repeats):
                start = time.perf_counter()
                drafts, _ = compose_minutes(minutes, meeting, settings, transcript=transcript, markdown=markdown)
                compose_times.append(time.perf_counter() - start)
            sizes = [len(d.raw) for d in drafts]
            settings.mail.attach_transcript = False
            plain, _ = compose_minutes(minutes, meeting, settings, transcript=transcript, markdown=markdown)
            settings.mail.attach_transcript = True

            # ours: outbox in the archive, then deliver over SMTP
            messages, _ = compose(minutes, meeting, settings, transcript=transcript, markdown=markdown)
            start = time.perf_counter()
            with open_archive(settings) as db:
                db.save_meeting(meeting, directory=settings.recordings_dir / meeting.id)
                db.save_minutes(meeting.id, minutes, markdown, outbox=messages)
            queue_time = time.perf_counter() - start
            settings.smtp.url = f"smtp://127.0.0.1:{port}"
            start = time.perf_counter()
            with open_archive(settings) as db:
                report = deliver(db, settings, now=datetime.now(timezone.utc) + timedelta(seconds=1))
            outbox_time = time.perf_counter() - start
            assert report["sent"] == len(messages), report

            # peer: straight to smtplib, nothing recorded
            before = sink.count
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                for m in messages:
                    smtp.sendmail("minutes@example.org", [m.recipient], m.raw)
            direct_time = time.perf_counter() - start
            assert sink.count - before == len(messages)

            # the Maildir fallback
            settings.smtp.url = ""
            with open_archive(settings) as db:
                for m in db.outbox_list():
                    db.outbox_mark_failed(m.id, "bench: send again")
                db.outbox_requeue()
                start = time.perf_counter()
                maildir_report = deliver(db, settings, now=datetime.now(timezone.utc) + timedelta(seconds=1))
                maildir_time = time.perf_counter() - start
            assert maildir_report["sent"] == len(messages)
    finally:
        controller.stop()

    n = len(messages)
    result = {
        "quick": quick,
        "meeting_minutes": minutes_long,
        "segments": len(transcript.segments),
        "recipients": n,
        "compose_seconds_median": round(statistics.median(compose_times), 4),
        "compose_ms_per_message": round(1000 * statistics.median(compose_times) / n, 2),
        "message_kb_with_transcript_median": round(statistics.median(sizes) / 1024, 1),
        "message_kb_without_transcript_median": round(statistics.median(len(d.raw) for d in plain) / 1024, 1),
        "queue_seconds": round(queue_time, 4),
        "outbox_deliver_seconds": round(outbox_time, 4),
        "direct_smtplib_seconds": round(direct_time, 4),
        "maildir_deliver_seconds": round(maildir_time, 4),
    }
    result["markdown"] = "\n".join([
        f"Mail: {minutes_long}-minute meeting ({len(transcript.segments)} segments), {n} recipients, transcript attached",
        "",
        "| step | seconds | per message (ms) |",
        "| --- | ---: | ---: |",
        f"| compose (text + HTML + .md + .txt + .vtt + .ics) | {result['compose_seconds_median']} | "
        f"{result['compose_ms_per_message']} |",
        f"| queue in the outbox (SQLite, with the minutes) | {result['queue_seconds']} | {1000 * queue_time / n:.2f} |",
        f"| **ours**: deliver from the outbox over SMTP | {result['outbox_deliver_seconds']} | "
        f"{1000 * outbox_time / n:.2f} |",
        f"| peer: smtplib, same bytes, nothing recorded | {result['direct_smtplib_seconds']} | "
        f"{1000 * direct_time / n:.2f} |",
        f"| ours: Maildir fallback | {result['maildir_deliver_seconds']} | {1000 * maildir_time / n:.2f} |",
        "",
        f"Message size (median): {result['message_kb_with_transcript_median']} KB with the transcript, "
        f"{result['message_kb_without_transcript_median']} KB without.",
    ])
    (out_dir / "mail.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small meeting, few recipients (for CI)")
    parser.add_argument("--out", default="bench/results", help="folder for mail.json")
    args = parser.parse_args()
    print(run(args.quick, Path(args.out))["markdown"])


if __name__ == "__main__":
    main()
