"""Live transcription: while ``voicebot record`` runs, the finished 1-second pieces are transcribed in the
background, so that at the end of the meeting only its tail is left to do.

    recorder ─► chunks/000123.wav ─► live worker (nice 19, its own process)
                                        voice activity, scored as the pieces arrive (``VadScorer``)
                                        chunks of speech closed exactly as the batch transcription
                                        closes them (``chunking.pack``: at a pause, ≤ 28 s of speech)
                                        each closed chunk transcribed (``asr.transcribe_chunk``)
                                        ─► transcript.partial.json  (the batch stage's own checkpoint)
                                        ─► vad.partial.npz          (the scores of every whole 10-min block)

The end of the meeting runs the ordinary pipeline: its transcribe stage finds the checkpoint and the
scores, and transcribes only the chunks after the checkpoint (the tail, or whatever the live worker
had not reached). Nothing here is a second transcription: the chunks, their languages, prompt and
guards are the batch ones, so the transcript is the one ``voicebot process`` gives on the same audio
(tests/test_live.py holds it equal).

Capture keeps priority: the worker is another process (no lock or interpreter shared with the
recorder), at the lowest CPU priority; on a busy machine it falls behind, never drops audio or words
(what it has not reached is done at the end). It dies with the recorder (a kill -9 of ``voicebot
record`` takes it down too); every chunk it finished is in the checkpoint, so ``voicebot resume``
(recover, then the pipeline) goes on from there. Its events (start, each chunk, stop with CPU time)
go to ``live.jsonl`` in the meeting's folder.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from voicebot import recordings, schema
from voicebot.config import Settings
from voicebot.fsutil import append_jsonl, read_jsonl

POLL = 0.5  # seconds between two looks at chunks/ when there is nothing to do
STOP_WAIT = 60.0  # seconds the recorder waits for the worker to finish the chunk in hand


class _Recent:
    """The recording so far (16 kHz mono float32) from ``base`` on: what is transcribed and scored is
    dropped, so a meeting of hours holds about one VAD block (10 min) and the backlog, not all of it.

    Slicing takes recording sample numbers (``recent[a:b]``), as a whole recording's array would, so
    chunks of speech read their audio from it unchanged (``Chunk.audio``)."""

    def __init__(self) -> None:
        self._data = np.zeros(16000 * 60, np.float32)
        self.base = 0  # recording sample number of _data[0]
        self.length = 0  # recording samples received in all

    def append(self, samples: np.ndarray) -> None:
        held = self.length - self.base
        need = held + len(samples)
        if need > len(self._data):
            bigger = np.zeros(max(need, 2 * len(self._data)), np.float32)
            bigger[:held] = self._data[:held]
            self._data = bigger
        self._data[held:need] = samples
        self.length += len(samples)

    def drop_before(self, sample: int) -> None:
        """Forget the samples before ``sample`` (moved down in place; the array keeps its size)."""
        cut = min(max(sample, self.base), self.length) - self.base
        if cut <= 0:
            return
        held = self.length - self.base
        self._data[:held - cut] = self._data[cut:held]
        self.base += cut

    def __getitem__(self, where: slice) -> np.ndarray:
        start, stop = where.start or 0, self.length if where.stop is None else where.stop
        assert start >= self.base, "audio already dropped"
        return self._data[start - self.base:min(stop, self.length) - self.base]


def decided(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The regions of a block's beginning that no later audio can change.

    The last region may still grow; the one before it is final, but its padded end depends on where the
    last one starts, and the last one may yet be dropped (a blip shorter than the VAD's shortest speech).
    Everything before those two is settled."""
    return regions[:-2]


class LiveTranscriber:
    """Follows ``recordings/<id>/chunks/`` and transcribes each chunk of speech once it is closed."""

    def __init__(self, settings: Settings, directory: Path, engine=None):
        from voicebot import asr, pipeline
        from voicebot.asr import chunking
        from voicebot.record.assemble import To16kMono

        self.settings = settings
        self.directory = Path(directory)
        self.meeting = recordings.load_meeting(self.directory)
        self.engine = engine or asr.load_engine(settings)
        self.checkpoint = pipeline.transcript_checkpoint(settings, self.meeting, self.engine, self.directory)
        resume = self.checkpoint.load()  # a worker started again on the same recording goes on from there
        self.segments: list[schema.Segment] = list(resume.segments) if resume else []
        self.done_until = resume.done_until if resume else 0.0
        self.previous = self.segments[-1].language if self.segments else None
        self.forced = self.meeting.language or settings.asr.language or None
        self.scores = chunking.ScoreStore(self.directory / recordings.VAD_SCORES)
        self.audio = _Recent()
        self._converter = To16kMono()
        self._next_chunk = 0  # number of the next recorder piece to read
        self._block = int(chunking.VAD_BLOCK_S * chunking.SAMPLE_RATE)
        self._block_start = 0
        self._scorer = chunking.VadScorer()
        self._regions: list[tuple[int, int]] = []  # final regions of the whole blocks
        self.chunks_done = 0

    # --- reading what the recorder wrote ----------------------------------------------------------
    def read_new(self) -> float:
        """Append the pieces closed since the last look (the recorder numbers them in order); seconds added."""
        from voicebot.record.chunks import ChunkError, chunk_path, read_chunk

        before = self.audio.length
        while (path := chunk_path(self.directory / recordings.CHUNKS, self._next_chunk)).exists():
            try:
                piece = read_chunk(path)
            except FileNotFoundError:
                break  # the recording ended and its pieces became audio.flac: nothing more to read
            except (ChunkError, OSError):
                piece = None  # unreadable: assembly leaves it out too
            self._next_chunk += 1
            if piece is not None and len(piece.frames):
                pcm = self._converter.convert(piece.frames, piece.samplerate)
                self.audio.append(pcm.astype(np.float32) / 32768.0)
        return (self.audio.length - before) / 16000

    # --- voice activity -------------------------------------------------------------------------
    def _score(self) -> list[tuple[int, int]]:
        """Score the new audio; the speech regions that can no longer change."""
        from voicebot.asr import chunking

        samples = self.audio
        while True:
            end = self._block_start + self._block
            # a block is whole once the recording goes on past it (a shorter tail would join it)
            whole = samples.length - end >= chunking.SAMPLE_RATE // 10
            upto = end if whole else samples.length
            fed = self._block_start + self._scorer.windows * chunking.VAD_WINDOW
            usable = (upto - fed) - (upto - fed) % chunking.VAD_WINDOW
            if usable > 0:
                self._scorer.feed(samples[fed:fed + usable])
            if not whole:
                break
            block = samples[self._block_start:end]
            probs = self._scorer.finish(np.zeros(0, np.float32))
            self._regions += [(self._block_start + a, self._block_start + b)
                              for a, b in chunking.regions_from_probabilities(probs, len(block))]
            self.scores.put(self._block_start, block, probs)
            self._block_start, self._scorer = end, chunking.VadScorer()
        scored = self._scorer.windows * chunking.VAD_WINDOW
        prefix = chunking.regions_from_probabilities(self._scorer.probabilities, scored) if scored else []
        return self._regions + [(self._block_start + a, self._block_start + b) for a, b in decided(prefix)]

    def closed_chunks(self) -> list:
        """Chunks of speech that no later audio can change (all but the last one packed), not yet transcribed."""
        from voicebot import asr
        from voicebot.asr import chunking

        chunks = chunking.pack(self._score())[:-1]
        return asr.remaining(chunks, self.done_until)

    # --- transcribing -----------------------------------------------------------------------------
    def transcribe(self, chunk) -> list[schema.Segment]:
        from voicebot import asr

        prompt, words = self.settings.asr.initial_prompt, self.settings.asr.hotwords
        done, self.previous = asr.transcribe_chunk(self.engine, chunk, self.audio, self.settings,
                                                   forced=self.forced, previous=self.previous, prompt=prompt,
                                                   hotwords=words)
        self.segments.extend(done)
        self.done_until = chunk.end
        self.checkpoint.save(self.segments, chunk.end)
        self.chunks_done += 1
        self.audio.drop_before(min(self._block_start, round(chunk.end * 16000)))
        return done

    def step(self, stop: threading.Event | None = None) -> bool:
        """Read, score, transcribe what is closed (checking ``stop`` between chunks); whether anything was done."""
        added = self.read_new()
        did = False
        for chunk in self.closed_chunks():
            if stop is not None and stop.is_set():
                break
            started = time.monotonic()
            done = self.transcribe(chunk)
            did = True
            log(self.directory, "chunk", start=round(chunk.start, 3), end=round(chunk.end, 3),
                seconds=round(time.monotonic() - started, 3), segments=len(done),
                behind=round(self.audio.length / 16000 - chunk.end, 1))
        return did or added > 0


def run(settings: Settings, directory: Path, stop: threading.Event, owner: str | None = None) -> dict:
    """The worker's loop: follow the recording until ``stop`` is set or the recording is no longer in
    progress; the chunk in hand is finished first. Returns what it did (also logged).

    First the meeting goes into the archive (with its ``owner``, a web user), so that the web shows
    its transcript growing to whoever the access rule lets see it."""
    started, cpu0 = time.monotonic(), _cpu_seconds()
    log(directory, "start", pid=os.getpid(), nice=os.nice(0))
    try:
        show_in_archive(settings, directory, owner=owner)
    except Exception as exc:  # noqa: BLE001 -- e.g. the database is unreachable: the pipeline saves it later
        log(directory, "archive-failed", error=f"{type(exc).__name__}: {exc}")
    live = LiveTranscriber(settings, directory)
    log(directory, "ready", load_seconds=round(time.monotonic() - started, 3), resumed_at=live.done_until)
    while not stop.is_set():
        if not live.step(stop):
            if _recording_over(directory):
                break
            stop.wait(POLL)
    report = {"chunks": live.chunks_done, "done_until": round(live.done_until, 3),
              "audio_seconds": round(live.audio.length / 16000, 3), "wall_seconds": round(time.monotonic() - started, 3),
              "cpu_seconds": round(_cpu_seconds() - cpu0, 3)}
    log(directory, "stop", **report)
    return report


def _recording_over(directory: Path) -> bool:
    try:
        return recordings.load_meeting(directory).status != "recording"
    except Exception:  # noqa: BLE001 -- meeting.json being replaced, or gone: look again next time
        return False


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def log(directory: Path, event: str, **fields) -> None:
    """One line in recordings/<id>/live.jsonl. Best effort."""
    append_jsonl(Path(directory) / recordings.LIVE_LOG, {"event": event, **fields})


def read_log(directory: Path) -> list[dict]:
    return read_jsonl(Path(directory) / recordings.LIVE_LOG)


# --- the worker process, seen from the recorder ----------------------------------------------------


class Worker:
    """The live worker of one recording, in its own process at the lowest CPU priority."""

    def __init__(self, directory: Path, *, niceness: int = 19, owner: str | None = None):
        self.directory = Path(directory)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicebot.live", str(self.directory), "--nice", str(niceness),
             "--parent", str(os.getpid()), *(["--owner", owner] if owner else [])],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def request_stop(self) -> None:
        """Finish the chunk in hand, then exit (does not wait)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = STOP_WAIT) -> int | None:
        """Wait for it to exit (killed after ``timeout``: the chunk it was on is left to the pipeline)."""
        self.request_stop()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def _lower_and_tie(niceness: int, parent: int) -> None:
    """In the worker, first thing: lowest priority, and die with the recorder (Linux's parent-death
    signal; set here rather than between fork and exec, which is unsafe in a program with threads)."""
    os.nice(niceness)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the recorder died before the signal was set
        os._exit(0)


def start(settings: Settings, directory: Path, *, owner: str | None = None) -> Worker | None:
    """Start the live worker for a recording that has begun, unless ``record.live`` is off or the Whisper
    model is not installed yet (installing it is the pipeline's business, not the recording's)."""
    from voicebot.asr import models
    from voicebot.errors import ModelError

    if not settings.record.live:
        return None
    try:
        models.resolve(settings.asr.model, settings.models_dir, auto_install=False)
    except ModelError as exc:
        log(directory, "off", reason=str(exc))
        return None
    return Worker(directory, niceness=settings.record.live_nice, owner=owner)


def show_in_archive(settings: Settings, directory: Path, owner: str | None = None) -> None:
    """The meeting in the archive as it is now (``recording`` at the start, ``recorded`` at the end), so
    that the web lists it and shows its live transcript to whoever the access rule lets see it."""
    from voicebot.archive import open_archive

    with open_archive(settings) as db, db.transaction():
        db.save_meeting(recordings.load_meeting(directory), directory=directory)
        if owner:
            db.set_owner(directory.name, owner)


def segments_so_far(directory: Path) -> list[schema.Segment]:
    """What the transcription of a meeting has written so far (its checkpoint), live or batch."""
    try:
        data = schema.read_json(Path(directory) / recordings.TRANSCRIPT_PARTIAL)
        return [schema.Segment.from_dict(s) for s in data.get("segments", [])]
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return []


def recent_lines(directory: Path, count: int = 3) -> list[str]:
    """The last ``count`` lines transcribed so far, oldest first."""
    return [f"{_clock(s.start)} {s.text.strip()}" for s in segments_so_far(directory)[-count:]]


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def main(argv: list[str] | None = None) -> int:
    """``python -m voicebot.live DIRECTORY [--nice N --parent PID] [--owner NAME]``: the worker process
    (``Worker`` starts it)."""
    from voicebot.config import load_settings

    args = sys.argv[1:] if argv is None else argv

    def option(name: str) -> str | None:
        return args[args.index(name) + 1] if name in args else None

    if option("--parent"):
        _lower_and_tie(int(option("--nice") or 19), int(option("--parent")))
    directory, owner = Path(args[0]), option("--owner")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl-C in the recorder's terminal: the recorder decides
    try:
        run(load_settings(), directory, stop, owner=owner)
    except Exception as exc:  # noqa: BLE001 -- the recording goes on; the pipeline does the work at the end
        import traceback

        log(directory, "failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=-6))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
