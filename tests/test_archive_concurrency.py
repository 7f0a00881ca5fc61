"""Readers search while another connection writes meetings: nobody waits for
long, nobody fails, and a reader sees a meeting's transcript whole or not at all."""

from __future__ import annotations

import threading
from collections import Counter

from archive_samples import make_meeting, make_transcript

from voicebot.archive import open_archive

SEGMENTS = 40
MEETINGS = 12
READERS = 3


def meeting_id(n: int) -> str:
    return f"20261124-1000{n:02d}-live-{n:04d}"


def test_readers_search_while_a_meeting_is_written(archive_settings):
    with open_archive(archive_settings):  # create the database before the threads start
        pass
    lines = [("Zoé Martin" if i % 2 else "Karim Benali",
              f"Point {i} : le poisson-zèbre zebrafish reste au menu de la phase {i}.") for i in range(SEGMENTS)]
    done = threading.Event()
    errors: list[BaseException] = []
    observations: list[Counter] = []
    searches = Counter()

    ready = threading.Barrier(READERS + 1, timeout=120)

    def wait_for_a_search() -> None:
        """Interleave for sure: after each commit, let the readers run at least one more search."""
        target = sum(searches.values()) + 1
        for _ in range(2000):
            if sum(searches.values()) >= target:
                return
            threading.Event().wait(0.005)

    def writer() -> None:
        try:
            with open_archive(archive_settings) as db:
                ready.wait()
                for n in range(MEETINGS):
                    mid = meeting_id(n)
                    db.save_meeting(make_meeting(mid, f"Live {n}", f"2026-11-24T10:00:{n:02d}+01:00"))
                    wait_for_a_search()
                    db.save_transcript(mid, make_transcript(lines))
                    wait_for_a_search()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    def reader(number: int) -> None:
        try:
            with open_archive(archive_settings) as db:
                seen_meetings = 0
                ready.wait()
                while True:
                    finished = done.is_set()
                    hits = db.search("zebrafish", limit=100_000)
                    per_meeting = Counter(h.meeting_id for h in hits)
                    observations.append(per_meeting)
                    listed = len(db.list_meetings())
                    assert listed >= seen_meetings, "a committed meeting disappeared"
                    seen_meetings = listed
                    searches[number] += 1
                    if finished:
                        break
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a reader or the writer hung"
    assert errors == []
    assert all(searches[i] >= 1 for i in range(READERS))
    partial = [seen for seen in observations if 0 < len(seen) < MEETINGS]
    assert partial, "no search ran while the meetings were being written"
    # atomic: a transcript is seen with all its segments or none of them
    assert all(count == SEGMENTS for seen in observations for count in seen.values())
    assert observations[-1] == Counter({meeting_id(n): SEGMENTS for n in range(MEETINGS)})
    with open_archive(archive_settings) as db:
        assert len(db.search("zebrafish", limit=100_000)) == SEGMENTS * MEETINGS
        assert db.check() == []
