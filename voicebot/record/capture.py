"""Recording a meeting from an input device, crash-safe.

How it holds up:

- ``meeting.json`` (title, invitees, start, device, format, when the consent
  notice was shown) is written atomically before any audio is captured.
- The PortAudio callback copies each block (0.1 s) onto a queue: no disk I/O,
  no lock. A writer thread appends the blocks to the piece in progress and
  closes a piece (fsync + rename) every ``record.chunk_seconds``
  (see ``chunks``).
- Loss bound: a crash of the program (kill -9, Python error, segfault) loses
  only the audio not yet handed to the writer: the block being captured and
  anything still queued. Measured through PulseAudio with kill -9 at random
  moments (tests/test_record_crash.py, a loaded 2-core machine): max 0.19 s,
  median 0.10 s; the bound the tests hold it to is 0.5 s. A crash of the
  whole machine (power cut, kernel panic) also loses the piece in progress,
  so at most ``chunk_seconds`` (1 s by default) more.
- A stalled recorder (busy or frozen laptop) loses nothing as long as the
  sound system holds the audio (PulseAudio held 6 s of a stopped process).
- Input overflows (the computer was too busy to take the audio in time) are
  counted, logged and reported as they happen.
- The device disappears (unplugged, sound server restarted): everything so
  far is kept, the recorder tells the user and tries to reopen it every
  second (an explicitly chosen device that stays away for 10 s is replaced
  by the system default input). The gap is logged in ``recorder.jsonl``.
- The disk is full: the recorder stops writing, keeps what was written
  readable and raises ``DiskFullError`` with what to do.
- Ctrl-C, SIGTERM, SIGHUP, ``voicebot stop`` (a ``.stop`` file), the ``stop``
  event or ``max_seconds`` end the recording cleanly: ``audio.flac`` is
  assembled and verified, the status becomes ``"recorded"``.
"""

from __future__ import annotations

import math
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from voicebot import recordings, schema
from voicebot.config import Settings
from voicebot.errors import UserError
from voicebot.fsutil import fsync_dir
from voicebot.record import control, devices
from voicebot.record.assemble import assemble
from voicebot.record.writer import ChunkWriter

CONSENT_NOTICE = (
    "This meeting will be recorded and transcribed on this computer to draft its minutes. "
    "Tell everyone present; anyone may ask to stop the recording or to have their words removed.\n"
    "Cette réunion va être enregistrée et transcrite sur cet ordinateur pour en rédiger le compte rendu. "
    "Prévenez toutes les personnes présentes ; chacune peut demander l'arrêt de l'enregistrement "
    "ou la suppression de ses propos."
)
BLOCK_SECONDS = 0.1  # the audio callback's block
TICK = 0.1  # how often the main loop looks at things
STATUS_EVERY = 0.5  # how often a "tick" status is sent
STALL_SECONDS = 10.0  # an open stream that delivers nothing for this long is treated as lost
FALLBACK_AFTER = 10.0  # a chosen device away this long is replaced by the default input


@dataclass
class RecordStatus:
    """What ``on_status`` receives while recording."""

    event: str  # consent | started | tick | warning | device-lost | device-reopened | stopping | stopped
    meeting_id: str = ""
    directory: Path | None = None
    elapsed: float = 0.0  # seconds of audio captured
    level_db: float = -math.inf  # peak input level since the previous tick, dBFS
    free_bytes: int | None = None  # free space where the recording is written
    overflows: int = 0
    message: str = ""


class DiskFullError(UserError):
    """The recording had to stop because the disk could not take more; what was written is kept."""

    def __init__(self, message: str, meeting: schema.Meeting):
        super().__init__(message)
        self.meeting = meeting


class _Capture:
    """The callback's side: it only counts and queues."""

    def __init__(self, writer: ChunkWriter, samplerate: int):
        self.writer = writer
        self.samplerate = samplerate
        self.overflows = 0
        self.seconds = 0.0
        self.first_block_at: float | None = None  # time.monotonic() when the first block arrived
        self.first_block_frames = 0
        self.last_block_at: float | None = None

    def callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread: no I/O here
        now = time.monotonic()
        if status.input_overflow:
            self.overflows += 1
        if self.first_block_at is None:
            self.first_block_at, self.first_block_frames = now, frames
        self.last_block_at = now
        self.seconds += frames / self.samplerate
        self.writer.submit(indata.copy())


def _print_status(status: RecordStatus) -> None:
    """Without ``on_status``, the consent notice and the warnings still reach the user."""
    if status.event in ("consent", "warning", "device-lost", "device-reopened"):
        print(status.message, file=sys.stderr, flush=True)


def hms(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _Recorder:
    def __init__(self, settings: Settings, meeting: schema.Meeting, directory: Path, device: devices.InputDevice,
                 explicit_device: bool, stop: threading.Event | None, emit: Callable[[RecordStatus], None],
                 max_seconds: float | None):
        self.settings = settings
        self.meeting = meeting
        self.directory = directory
        self.device = device
        self.explicit_device = explicit_device
        self.stop_event = stop
        self.emit = emit
        self.max_seconds = max_seconds
        self.interrupted = threading.Event()  # set by our signal handlers
        self.started_at = time.monotonic()
        self.writer = ChunkWriter(directory / recordings.CHUNKS, meeting.samplerate, meeting.channels,
                                  settings.record.chunk_seconds)
        self.capture = _Capture(self.writer, meeting.samplerate)
        self.format = (meeting.samplerate, meeting.channels)  # what the writer is writing
        self.stream = None
        self.overflows_reported = 0
        self.low_disk_warned = False
        self.silence_warned = False
        self.free_bytes: int | None = None
        self.free_checked_at = 0.0

    # --- helpers ---------------------------------------------------------------------------
    def status(self, event: str, message: str = "", **extra) -> None:
        self.emit(RecordStatus(event=event, meeting_id=self.meeting.id, directory=self.directory,
                               elapsed=self.capture.seconds, overflows=self.capture.overflows,
                               free_bytes=self.free_bytes, message=message, **extra))

    def stop_reason(self) -> str | None:
        if self.interrupted.is_set():
            return "interrupted"
        if self.stop_event is not None and self.stop_event.is_set():
            return "stop event"
        if control.stop_requested(self.directory):
            return "voicebot stop"
        if self.max_seconds is not None and time.monotonic() - self.started_at >= self.max_seconds:
            return "duration reached"
        if self.writer.error is not None:
            return "disk error"
        return None

    def open_stream(self, device: devices.InputDevice, samplerate: int, channels: int):
        sd = devices.sounddevice()
        stream = sd.InputStream(device=device.index, samplerate=samplerate, channels=channels, dtype="int16",
                                blocksize=int(samplerate * BLOCK_SECONDS), callback=self.capture.callback)
        if (samplerate, channels) != self.format:  # a device reopened in another format: a new chunk
            self.writer.change_format(samplerate, channels)  # queued before any block of the new format
            self.format = (samplerate, channels)
        self.capture.samplerate = samplerate
        try:
            stream.start()
        except BaseException:
            stream.close(ignore_errors=True)
            raise
        return stream

    def close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is None:
            return
        try:
            stream.stop(ignore_errors=True)  # waits for the blocks in flight to reach the callback
        finally:
            stream.close(ignore_errors=True)

    # --- the loop ----------------------------------------------------------------------------
    def run(self) -> str:
        self.stream = self.open_stream(self.device, self.meeting.samplerate, self.meeting.channels)
        control.log_event(self.directory, "start", device=self.device.name, samplerate=self.meeting.samplerate,
                          channels=self.meeting.channels, chunk_seconds=self.settings.record.chunk_seconds,
                          input_latency=self.stream.latency)
        self.status("started", f"recording {self.meeting.id} from {self.device.label}")
        logged_first = False
        last_status = 0.0
        while (reason := self.stop_reason()) is None:
            time.sleep(TICK)
            now = time.monotonic()
            if not logged_first and self.capture.first_block_at is not None:
                control.log_event(self.directory, "capturing", monotonic=self.capture.first_block_at,
                                  frames=self.capture.first_block_frames, samplerate=self.meeting.samplerate)
                logged_first = True
            if self._device_lost(now):
                if not self._reopen():
                    continue  # stopped while waiting for the device
            self._check_overflows()
            if now - last_status >= STATUS_EVERY:
                last_status = now
                self._check_disk(now)
                self._check_silence()
                level, self.writer.peak_db = self.writer.peak_db, -math.inf
                self.status("tick", level_db=level)
        return reason

    def _device_lost(self, now: float) -> bool:
        if self.stream is None:
            return False
        if not self.stream.active:
            return True
        last = self.capture.last_block_at or self.started_at
        return now - last > STALL_SECONDS

    def _reopen(self) -> bool:
        """The device went away: keep what we have, tell the user, reopen it (or the default) when we can."""
        lost_at, lost_seconds = time.monotonic(), self.capture.seconds
        name = self.device.label
        self.close_stream()
        control.log_event(self.directory, "device-lost", device=self.device.name, at_seconds=round(lost_seconds, 3))
        self.status("device-lost", f"input device {name} stopped delivering audio at {hms(lost_seconds)} "
                                   "(unplugged? sound server restarted?); everything recorded so far is saved; "
                                   "trying to reopen it...")
        while self.stop_reason() is None:
            time.sleep(1.0)
            waited = time.monotonic() - lost_at
            try:
                devices.refresh()
                candidate = devices.find_by_name(self.device.name) if self.explicit_device else devices.resolve("")
                if candidate is None and waited >= FALLBACK_AFTER:
                    candidate = devices.resolve("")
                if candidate is None:
                    continue
                rate, channels = devices.pick_format(candidate, self.settings.record.samplerate,
                                                     self.settings.record.channels)
                self.stream = self.open_stream(candidate, rate, channels)
            except (UserError, OSError, devices.sounddevice().PortAudioError):
                self.stream = None
                continue
            gap = time.monotonic() - lost_at
            self.device = candidate
            self.capture.last_block_at = time.monotonic()
            control.log_event(self.directory, "device-reopened", device=candidate.name, samplerate=rate,
                              channels=channels, gap_seconds=round(gap, 3), at_seconds=round(lost_seconds, 3))
            self.status("device-reopened", f"recording again from {candidate.label} after a gap of {gap:.1f} s "
                                           f"(the recording skips from {hms(lost_seconds)})")
            return True
        return False

    def _check_overflows(self) -> None:
        count = self.capture.overflows
        if count > self.overflows_reported:
            self.overflows_reported = count
            control.log_event(self.directory, "overflow", count=count, at_seconds=round(self.capture.seconds, 3))
            self.status("warning", f"input overflow at {hms(self.capture.seconds)}: the computer was too busy and "
                                   f"a little audio was lost ({count} time(s) so far)")

    def _check_disk(self, now: float) -> None:
        if now - self.free_checked_at < 2.0:
            return
        self.free_checked_at = now
        try:
            self.free_bytes = shutil.disk_usage(self.directory).free
        except OSError:
            return
        low = self.settings.record.low_disk_mb * 1024 * 1024
        if self.free_bytes < low and not self.low_disk_warned:
            self.low_disk_warned = True
            rate = self.format[0] * self.format[1] * 2 * 1.5  # bytes per second: chunks + audio.flac
            minutes = self.free_bytes / rate / 60
            control.log_event(self.directory, "low-disk", free_bytes=self.free_bytes)
            self.status("warning", f"low disk space: {self.free_bytes / 1e6:.0f} MB free where the recording is "
                                   f"written, about {minutes:.0f} more minutes; free some space")
        elif self.free_bytes > low * 1.2:
            self.low_disk_warned = False

    def _check_silence(self) -> None:
        limit = self.settings.record.silence_warning_seconds
        silent = self.writer.silent_seconds
        if limit > 0 and silent >= limit and not self.silence_warned:
            self.silence_warned = True
            control.log_event(self.directory, "silence", seconds=round(silent, 1))
            self.status("warning", f"no sound for {silent:.0f} s: is the microphone muted, or is it the wrong one? "
                                   "(`voicebot devices` lists them; choose with --device)")
        elif silent < limit:
            self.silence_warned = False

    # --- the end ---------------------------------------------------------------------------------
    def finish(self, reason: str) -> schema.Meeting:
        self.status("stopping", f"stopping ({reason})...")
        self.close_stream()
        self.writer.finish()
        writer = self.writer
        control.log_event(self.directory, "stop", reason=reason, seconds=round(writer.seconds_written, 3),
                          chunks=writer.chunks_closed, overflows=self.capture.overflows,
                          dropped_seconds=round(writer.dropped_frames / self.capture.samplerate, 3),
                          error=str(writer.error) if writer.error else None)
        where = self.directory / recordings.CHUNKS
        try:
            result = assemble(self.directory)
        except OSError as exc:
            if writer.error is None:
                raise UserError(f"{exc.strerror or exc}; the recording is safe in {where}; "
                                "fix that, then run `voicebot recover`") from None
            result = None
        if writer.error is not None:
            self._disk_error(writer, result is not None and result.path is not None)
        self.meeting.ended_at = datetime.now().astimezone().isoformat(timespec="seconds")
        self.meeting.status = "recorded" if result.path else "empty"
        try:
            recordings.save_meeting(self.directory, self.meeting)
        except OSError as exc:
            raise UserError(f"the recording is complete in {result.path or where} but {recordings.MEETING_JSON} "
                            f"could not be updated ({exc.strerror}); run `voicebot recover` once that is fixed") from None
        if result.complete and not self.settings.record.keep_chunks:
            shutil.rmtree(where)  # after the status: a crash in between leaves only spare copies
        (self.directory / control.STOP).unlink(missing_ok=True)
        self.status("stopped", f"recorded {hms(result.seconds)} into {self.directory / recordings.AUDIO}"
                    if result.path else "no audio was recorded")
        return self.meeting

    def _disk_error(self, writer: ChunkWriter, assembled: bool) -> None:
        exc = writer.error
        what = "the disk is full" if getattr(exc, "errno", None) in (28, 122) else f"cannot write to the disk ({exc})"
        if assembled:
            self.meeting.ended_at = datetime.now().astimezone().isoformat(timespec="seconds")
            self.meeting.status = "recorded"
            try:
                recordings.save_meeting(self.directory, self.meeting)
            except OSError:
                pass  # stays "recording": `voicebot recover` finishes it
            kept = f"the {hms(writer.seconds_written)} recorded are in {self.directory / recordings.AUDIO}"
        else:
            kept = (f"the {hms(writer.seconds_written)} recorded are safe in {self.directory / recordings.CHUNKS}; "
                    "free some space, then run `voicebot recover`")
        raise DiskFullError(f"{what}: the recording stopped at {hms(writer.seconds_written)}; {kept}", self.meeting)


def record(settings: Settings, *, title: str, invitees: list[schema.Person], device: str | int | None = None,
           language: str | None = None, stop: threading.Event | None = None,
           on_status: Callable[[RecordStatus], None] | None = None,
           max_seconds: float | None = None, server: str | None = None) -> schema.Meeting:
    """Record until stopped (see the module help); the meeting, status "recorded" (or "empty"). ``server``: the
    team server the recording is sent to as it is made (kept in meeting.json: resume leaves it to that server)."""
    emit = on_status or _print_status
    spec = device if device not in (None, "") else settings.record.device
    chosen = devices.resolve(spec)
    samplerate, channels = devices.pick_format(chosen, settings.record.samplerate, settings.record.channels)
    started = datetime.now().astimezone()
    title = title.strip() or f"Meeting {started:%Y-%m-%d %H:%M}"
    meeting_id = recordings.new_meeting_id(title, started)
    directory = recordings.meeting_dir(settings.recordings_dir, meeting_id)
    try:
        directory.mkdir(parents=True)
    except OSError as exc:
        raise UserError(f"cannot create {directory} ({exc.strerror}); set VOICEBOT_HOME to a writable folder") from None
    lock = control.DirLock(directory)
    lock.acquire()
    try:
        emit(RecordStatus(event="consent", meeting_id=meeting_id, directory=directory, message=CONSENT_NOTICE))
        meeting = schema.Meeting(
            id=meeting_id, title=title, started_at=started.isoformat(timespec="seconds"), invitees=list(invitees),
            language=language or None, device=chosen.name, samplerate=samplerate, channels=channels,
            consent_notice_shown_at=datetime.now().astimezone().isoformat(timespec="seconds"), status="recording",
            server=server or None)
        try:
            recordings.save_meeting(directory, meeting)
            (directory / recordings.CHUNKS).mkdir()
            fsync_dir(directory)
            fsync_dir(directory.parent)
        except OSError as exc:  # nothing recorded yet: leave nothing behind
            shutil.rmtree(directory, ignore_errors=True)
            raise UserError(f"cannot start recording: {exc.strerror} in {settings.recordings_dir}; "
                            "free some space or set VOICEBOT_HOME to another disk") from None
        recorder = _Recorder(settings, meeting, directory, chosen, bool(str(spec or "").strip()), stop, emit,
                             max_seconds)
        recorder.writer.start()
        previous = _handle_signals(recorder)
        try:
            try:
                reason = recorder.run()
            except BaseException as exc:
                recorder.close_stream()  # whatever happened, what was captured goes to disk
                recorder.writer.finish()
                if isinstance(exc, devices.sounddevice().PortAudioError) and recorder.writer.frames_written == 0:
                    shutil.rmtree(directory)  # nothing was recorded: leave no empty meeting behind
                    raise UserError(f"cannot record from {chosen.label}: {exc}; "
                                    "`voicebot devices` lists the input devices") from None
                raise
            return recorder.finish(reason)
        finally:
            _restore_signals(previous)
    finally:
        lock.release()


def _handle_signals(recorder: _Recorder) -> dict | None:
    """Ctrl-C, SIGTERM and SIGHUP stop the recording cleanly (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        if recorder.interrupted.is_set():
            recorder.status("warning", "finishing the recording, please wait...")
        recorder.interrupted.set()

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}


def _restore_signals(previous: dict | None) -> None:
    for sig, old in (previous or {}).items():
        signal.signal(sig, old)
