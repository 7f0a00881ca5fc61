"""A recording sent to the team server while it is made: both ends.

The laptop (``voicebot record --server URL --token T``) sends each piece the recorder closes (the
1-second WAV files of ``recordings/<id>/chunks/``, see ``record/chunks.py``) as soon as it is closed:
``PUT /api/recordings/<id>/chunks/<n>``, the same piece again replacing it, so a retry is harmless.
While the server cannot be reached (or answers 5xx) the pieces wait on the laptop and go later, oldest
first. The recorder keeps ``chunks/`` until the server has confirmed the whole recording: nothing is
removed locally before that, and ``audio.flac`` stays on the laptop in any case.

When the recording stops, the laptop finishes it: ``POST /api/recordings/<id>/finish`` with the number
of pieces and the sample count and sha256 of its own ``audio.flac``. The server puts its pieces together
exactly as the recorder does (``record.assemble``), checks the count and the sha256 against the laptop's,
and takes the audio as any upload (``upload.receive``: imported, owned by the token's user, queued). A
server that lacks pieces answers 409 with their numbers and the laptop sends them; one whose pieces do
not make the laptop's audio drops them and the laptop sends ``audio.flac`` whole (``upload.send``).
When the server stays away past ``--retry-for``, the recording is complete on the laptop and
``voicebot upload <id> --server URL`` sends it later.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from voicebot import recordings
from voicebot.config import Settings
from voicebot.errors import UserError
from voicebot.upload import (
    MAX_PIECE_BYTES,
    PiecesMissing,
    Sent,
    TooLarge,
    answer_detail,
    limit_bytes,
    post_finish,
    receive,
    sweep_now_and_then,
    too_large,
    unreachable,
    user_folder,
)

ROUTE = "/api/recordings"
log = logging.getLogger("voicebot.upload_live")


# --- the server's end ---------------------------------------------------------------------------


def _folder(settings: Settings, viewer, recording_id: str) -> Path:
    if not recordings.is_meeting_id(recording_id or ""):
        raise UserError(f"{recording_id!r} is not a recording id (like 20261124-093000-weekly-a1b2)")
    return user_folder(settings, viewer, "recordings") / recording_id


def _chunks(folder: Path) -> Path:
    return folder / recordings.CHUNKS


def chunks_held(settings: Settings, viewer, recording_id: str) -> list[int]:
    """The piece numbers of a recording the server has."""
    from voicebot.record.chunks import chunk_index

    where = _chunks(_folder(settings, viewer, recording_id))
    return sorted(n for p in where.glob("*.wav") if (n := chunk_index(p)) is not None) if where.is_dir() else []


def store_chunk(settings: Settings, viewer, recording_id: str, number: int, data: bytes) -> None:
    """Keep piece ``number`` of a recording (written atomically; the same piece again replaces it); UserError
    when it is not a 16-bit PCM WAV piece, TooLarge past the piece or upload limits."""
    from voicebot.fsutil import atomic_write
    from voicebot.record.chunks import ChunkError, chunk_path, read_chunk

    where = _chunks(_folder(settings, viewer, recording_id))
    if not data:
        raise UserError(f"piece {number} is empty")
    if len(data) > MAX_PIECE_BYTES:
        raise TooLarge(f"a piece is at most {MAX_PIECE_BYTES // 2**20} MB")
    target = chunk_path(where, number)
    held = sum(p.stat().st_size for p in where.glob("*.wav") if p != target) if where.is_dir() else 0
    if held + len(data) > limit_bytes(settings):
        raise too_large(settings)
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    checked = where / f".{number:06d}.check"
    atomic_write(checked, data)
    try:
        read_chunk(checked)
    except ChunkError as exc:
        checked.unlink(missing_ok=True)
        raise UserError(f"piece {number} is not a piece of a recording: {exc}") from None
    checked.replace(target)
    sweep_now_and_then(settings)


def finish(settings: Settings, viewer, recording_id: str, chunks: int, frames: int, sha256: str, **meeting) -> dict:
    """Pieces 0..chunks-1 of a recording put together as the recorder does, checked against the laptop's sample
    count and sha256, then ``receive``d; the pieces are removed once the meeting is stored and queued.
    PiecesMissing names the pieces not there; pieces that do not make the laptop's audio are dropped
    (PiecesMissing says so: the laptop then sends its audio whole)."""
    from voicebot.fsutil import exclusive_lock
    from voicebot.record.assemble import assemble
    from voicebot.record.chunks import chunk_path

    folder = _folder(settings, viewer, recording_id)
    if chunks < 1:
        raise UserError("a recording has at least one piece")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise UserError("sha256: the sha256 of the recording's samples, 64 lower-case hexadecimal digits")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with exclusive_lock(folder.parent / f".{recording_id}.lock", wait=True):  # one finish of a recording at a time
        missing = [n for n in range(chunks) if not chunk_path(_chunks(folder), n).is_file()]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise PiecesMissing(f"pieces missing: {shown} (of {chunks}); send them, then finish again")
        try:
            assembly = assemble(folder)
        except OSError as exc:
            raise UserError(f"the server could not put the recording together: {exc}") from None
        if (assembly.frames, assembly.sha256) != (frames, sha256):
            shutil.rmtree(folder, ignore_errors=True)
            raise PiecesMissing(f"the pieces make {assembly.frames} samples here, not the {frames} announced (or "
                                "other samples); they were dropped: send the recording again")
        result = receive(settings, viewer, folder / recordings.AUDIO, **meeting)
        shutil.rmtree(folder, ignore_errors=True)  # the meeting has the audio now
    return result


# --- the laptop's end ---------------------------------------------------------------------------


@dataclass
class Progress:
    """What the sender tells the terminal: pieces sent, and why it is waiting (empty: it is not)."""

    sent: int
    waiting: str


class Sender:
    """Sends a recording's closed pieces while it is recorded (a thread started by ``start``); ``finish``, once
    the recorder has stopped, sends the rest and finishes the recording on the server."""

    def __init__(self, server: str, token: str, *, pause: float = 1.0, on_progress=None) -> None:
        import httpx

        self.base = server.strip().rstrip("/")
        if not self.base.startswith(("http://", "https://")):
            raise UserError(f"--server {server!r}: give the server's address, like https://voicebot.example.org")
        if not token.strip():
            raise UserError("an API token is needed: `voicebot users token NAME` on the server makes one")
        self.client = httpx.Client(base_url=self.base, timeout=httpx.Timeout(30.0, connect=5.0),
                                   headers={"Authorization": f"Bearer {token.strip()}"})
        self.token = token.strip()
        self.pause, self.on_progress = pause, on_progress
        self.sent: set[int] = set()
        self.waiting = ""  # why the last attempt failed; empty when it did not
        self.refused = ""  # a 4xx: sending stops (a bad token, a piece too large); the end says it
        self.directory: Path | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """Before recording: the server answers and takes the token (UserError otherwise, in one line). A
        server away is not an error: the pieces wait on the laptop."""
        import httpx

        try:
            answer = self.client.get("/api/session")
        except httpx.HTTPError as exc:
            self._wait_reason(unreachable(self.base, exc))
            return
        if answer.status_code in (401, 403):
            raise UserError(f"{self.base} refuses the token ({answer.status_code}): make one with `voicebot users "
                            "token NAME` on the server")

    def start(self, directory: Path) -> None:
        self.directory = directory
        self._thread = threading.Thread(target=self._run, name="voicebot-send", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay = self.pause
        while not self._stop.is_set() and not self.refused:
            ok = self.send_closed()
            delay = self.pause if ok else min(delay * 2, 30.0)
            self._stop.wait(delay)

    def _wait_reason(self, reason: str) -> None:
        if reason != self.waiting:
            log.warning("%s", reason)
        self.waiting = reason
        if self.on_progress is not None:
            self.on_progress(Progress(len(self.sent), reason))

    def _closed(self) -> list[tuple[int, Path]]:
        from voicebot.record.chunks import PARTIAL_SUFFIX, chunk_index, list_chunks

        if self.directory is None:
            return []
        return [(chunk_index(p), p) for p in list_chunks(self.directory / recordings.CHUNKS)
                if not p.name.endswith(PARTIAL_SUFFIX)]

    def send_closed(self, only: set[int] | None = None) -> bool:
        """Each closed piece not sent yet (or each of ``only``), oldest first. False when the server could not
        take one: it is tried again later."""
        import httpx

        for number, path in self._closed():
            if (number in self.sent and only is None) or (only is not None and number not in only):
                continue
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            try:
                answer = self.client.put(f"{ROUTE}/{self.directory.name}/chunks/{number}", content=data,
                                         headers={"Content-Type": "audio/wav"})
            except httpx.HTTPError as exc:
                self._wait_reason(unreachable(self.base, exc))
                return False
            if answer.status_code >= 500:
                self._wait_reason(f"the server answered {answer.status_code}")
                return False
            if answer.status_code >= 400:
                self.refused = f"the server refused piece {number} ({answer.status_code}): {answer_detail(answer)}"
                return False
            self.sent.add(number)
            self.waiting = ""
            if self.on_progress is not None:
                self.on_progress(Progress(len(self.sent), ""))
        return True

    def finish(self, meeting, *, invite: str = "", ics: Path | None = None, retry_for: float = 600.0,
               keep_chunks: bool = False) -> Sent:
        """After the recorder stopped: the pieces left, then the recording finished on the server (see the
        module's docstring). Removes chunks/ once the server has the recording (unless ``keep_chunks``);
        UserError, the recording kept whole on the laptop, when the server stays away or refuses."""
        from voicebot.record.assemble import samples_digest

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        directory = self.directory
        later = (f"the recording is complete on this computer ({directory / recordings.AUDIO}): send it with "
                 f"`voicebot upload {meeting.id} --server {self.base}`")
        if self.refused:
            raise UserError(f"{self.refused}; {later}")
        numbers = [n for n, _ in self._closed()]
        frames, sha256 = samples_digest(directory / recordings.AUDIO) or (0, "")
        data = {"chunks": str(len(numbers)), "frames": str(frames), "sha256": sha256, "title": meeting.title,
                "invite": invite, "language": meeting.language or "", "recorded_at": meeting.started_at}
        if numbers != list(range(len(numbers))):  # pieces lost on this side (recovered recording): send it whole
            return self._send_whole(meeting, invite, ics, retry_for, later, keep_chunks)
        deadline, delay = time.monotonic() + retry_for, self.pause
        while True:
            answer = self._finish_once(meeting.id, data, ics)
            if answer is not None and answer.status_code == 202:
                break
            if answer is not None and answer.status_code == 409 and "dropped" in answer_detail(answer):
                return self._send_whole(meeting, invite, ics, retry_for, later, keep_chunks)
            if answer is not None and 400 <= answer.status_code < 500 and answer.status_code != 409:
                raise UserError(f"the server refused the recording ({answer.status_code}): {answer_detail(answer)}; {later}")
            if time.monotonic() + delay > deadline:
                raise UserError(f"{self.waiting or 'the server did not take the recording'}; {later}")
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
        body = answer.json()
        self._done(keep_chunks)
        return Sent(body["meeting_id"], bool(body.get("reused")), str(body.get("processing", "")), 1,
                    f"{self.base}/meetings/{body['meeting_id']}")

    def _finish_once(self, recording_id: str, data: dict, ics: Path | None):
        """The pieces the server lacks, then finish; None when the server could not be reached."""
        import httpx

        try:
            held = self.client.get(f"{ROUTE}/{recording_id}")
            if held.status_code >= 500:
                self._wait_reason(f"the server answered {held.status_code}")
                return None
            if held.status_code >= 400:
                return held
            wanted = set(range(int(data["chunks"]))) - set(held.json().get("chunks", []))
            if wanted and not self.send_closed(only=wanted):
                return None
            answer = post_finish(self.client, f"{ROUTE}/{recording_id}/finish", data, ics)
        except httpx.HTTPError as exc:
            self._wait_reason(unreachable(self.base, exc))
            return None
        if answer.status_code >= 500:
            self._wait_reason(f"the server answered {answer.status_code}: {answer_detail(answer)}")
            return None
        return answer

    def _send_whole(self, meeting, invite: str, ics: Path | None, retry_for: float, later: str,
                    keep_chunks: bool) -> Sent:
        from voicebot.upload import send

        try:
            sent = send(self.directory / recordings.AUDIO, server=self.base, token=self.token, title=meeting.title,
                        invite=invite, ics=ics, language=meeting.language or "", recorded_at=meeting.started_at,
                        retry_for=retry_for)
        except UserError as exc:
            raise UserError(f"{exc}; {later}") from None
        self._done(keep_chunks)
        return sent

    def _done(self, keep_chunks: bool) -> None:
        self.client.close()
        if not keep_chunks:
            shutil.rmtree(self.directory / recordings.CHUNKS, ignore_errors=True)
