"""Live transcription (voicebot/live.py): voice activity scored piece by piece is the batch's, the
chunks it closes are the batch's, and the pipeline after it gives the batch transcript while
transcribing only what the live worker had not reached. Through the real capture path: the
transcript grows while `voicebot record` runs, and a kill -9 during the meeting, then
`voicebot resume`, gives the minutes the batch pipeline gives on the same audio, mailed once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from record_helpers import make_recording

from voicebot import asr, live, pipeline, recordings, schema
from voicebot.asr import chunking
from voicebot.audio import load_audio
from voicebot.config import load_settings
from voicebot.record.chunks import ChunkFile

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SR = chunking.SAMPLE_RATE


@pytest.fixture(scope="module")
def meeting_audio() -> np.ndarray:
    return load_audio(SAMPLES / "meeting-en.flac")


def test_scores_fed_piece_by_piece_are_the_whole_blocks_scores(meeting_audio):
    whole = chunking.block_probabilities(meeting_audio)
    scorer = chunking.VadScorer()
    usable = len(meeting_audio) - len(meeting_audio) % chunking.VAD_WINDOW
    step = 31 * chunking.VAD_WINDOW  # about one recorder piece
    for start in range(0, usable, step):
        scorer.feed(meeting_audio[start:min(start + step, usable)])
    pieces = scorer.finish(meeting_audio[usable:])
    assert np.array_equal(pieces, whole)


def test_regions_are_faster_whispers_on_real_speech(meeting_audio, corpus):
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    o = chunking.VadOptions()
    theirs = VadOptions(threshold=o.threshold, min_speech_duration_ms=o.min_speech_ms,
                        min_silence_duration_ms=o.min_silence_ms, speech_pad_ms=o.speech_pad_ms,
                        max_speech_duration_s=o.max_speech_s)
    for audio in [meeting_audio] + [load_audio(p) for p in sorted(corpus.glob("*/*.flac"))]:
        expected = [(r["start"], min(r["end"], len(audio))) for r in get_speech_timestamps(audio, theirs)]
        assert chunking.speech_regions(audio, block_seconds=1e9) == expected


def test_decided_regions_never_change_as_audio_arrives(meeting_audio):
    probs = chunking.block_probabilities(meeting_audio)
    final = chunking.regions_from_probabilities(probs, len(meeting_audio))
    for seconds in range(2, int(len(meeting_audio) / SR), 3):
        windows = seconds * SR // chunking.VAD_WINDOW
        prefix = chunking.regions_from_probabilities(probs[:windows], windows * chunking.VAD_WINDOW)
        decided = live.decided(prefix)
        assert final[:len(decided)] == decided, seconds


def test_a_blip_after_a_pause_does_not_settle_the_region_before_it():
    """Speech, 1.2 s of silence, a 0.1-s blip (dropped: shorter than the shortest speech), silence, speech:
    the first region's padded end depends on the blip until the blip is known to be one."""
    window = chunking.VAD_WINDOW / SR

    def run(*parts):  # (probability, seconds) -> window probabilities
        return np.concatenate([np.full(round(sec / window), p, np.float32) for p, sec in parts])

    probs = run((0.0, 1.0), (0.9, 2.0), (0.0, 1.2), (0.9, 0.1), (0.0, 3.0), (0.9, 2.0), (0.0, 2.0))
    final = chunking.regions_from_probabilities(probs, len(probs) * chunking.VAD_WINDOW)
    assert len(final) == 2  # the blip is gone
    for windows in range(1, len(probs)):
        prefix = chunking.regions_from_probabilities(probs[:windows], windows * chunking.VAD_WINDOW)
        assert final[:len(live.decided(prefix))] == live.decided(prefix), windows
    at = round(4.5 / window)  # just after the blip: it still looks like speech
    prefix = chunking.regions_from_probabilities(probs[:at], at * chunking.VAD_WINDOW)
    assert prefix[0] != final[0]  # the first region's end moved: it was not settled yet


def test_a_resumed_run_keeps_the_rest_of_a_chunk_cut_elsewhere():
    chunks = [chunking.Chunk([(0, SR), (2 * SR, 3 * SR)]), chunking.Chunk([(5 * SR, 9 * SR)])]
    assert asr.remaining(chunks, 3.0)[0].pieces == [(5 * SR, 9 * SR)]  # a checkpoint at a chunk's end
    assert [c.pieces for c in asr.remaining(chunks, 2.5)] == [[(40000, 3 * SR)], [(5 * SR, 9 * SR)]]
    assert asr.remaining(chunks, 9.0) == []


def _write_pieces(directory: Path, pcm: np.ndarray, first: int, last: int) -> None:
    for index in range(first, last):
        piece = ChunkFile(directory / recordings.CHUNKS, index, SR, 1)
        piece.append(pcm[index * SR:(index + 1) * SR].reshape(-1, 1))
        piece.close()


@pytest.mark.slow
def test_live_then_pipeline_is_the_batch_transcript(home_with_models, monkeypatch, meeting_audio):
    monkeypatch.setattr(chunking, "VAD_BLOCK_S", 30.0)  # whole VAD blocks within an 84-second meeting
    settings = load_settings()
    pcm = np.round(meeting_audio * 32768).clip(-32768, 32767).astype(np.int16)
    directory = make_recording(settings, pcm[:0], finish=True, title="live")
    engine = asr.load_engine(settings)
    follower = live.LiveTranscriber(settings, directory, engine=engine)
    seconds = -(-len(pcm) // SR)
    grown = []
    for first in range(0, seconds, 10):  # the recorder closes a piece a second; the worker looks now and then
        _write_pieces(directory, pcm, first, min(first + 10, seconds))
        follower.step()
        grown.append(len(follower.segments))
    assert follower.chunks_done >= 2 and grown[0] < grown[-1]  # transcribed while "recording"
    assert follower.audio.base >= 30 * SR  # what was transcribed and scored is no longer held
    done_live = follower.done_until

    from voicebot.record.assemble import assemble

    assert assemble(directory).complete
    meeting = recordings.load_meeting(directory)
    meeting.status = "recorded"
    recordings.save_meeting(directory, meeting)
    job = pipeline.Job(settings, meeting, directory)
    pipeline.transcribe(job)
    events = [e for e in pipeline.read_log(directory) if e["event"] == "chunks"]
    assert events[-1]["resumed_from"] == pytest.approx(done_live)  # only the tail was transcribed
    assert events[-1]["transcribed"] == 1 and events[-1]["vad_blocks_reused"] == 2

    batch = asr.transcribe(load_audio(directory / recordings.AUDIO), settings, engine=engine)
    after = schema.Transcript.from_dict(schema.read_json(directory / recordings.TRANSCRIPT))
    assert [s.to_dict() for s in after.segments] == [s.to_dict() for s in batch.segments]


# --- through the real capture path ------------------------------------------------------------------


def _segments(directory: Path) -> int:
    try:
        return len(schema.read_json(directory / recordings.TRANSCRIPT_PARTIAL)["segments"])
    except (OSError, ValueError, KeyError):
        return 0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_transcript_grows_while_recording_and_kill_9_then_resume_gives_the_batch_minutes(
        home_with_models, pulse, tmp_path, monkeypatch):
    import soundfile as sf
    from conftest import run_cli
    from test_mail_delivery import SmtpServer

    smtp = SmtpServer()
    smtp.start()
    env_values = {"SMTP_URL": smtp.url, "MAIL_SENDER": "Voicebot <minutes@example.org>", "MINUTES_ENGINE": "extractive"}
    for key, value in env_values.items():
        monkeypatch.setenv(f"VOICEBOT_{key}", value)
    audio = load_audio(SAMPLES / "meeting-en.flac")
    played = tmp_path / "meeting.wav"
    sf.write(played, np.concatenate([audio, audio[:SR * 40]]), SR, subtype="PCM_16")  # about two minutes
    invite = "Alice <alice@example.org>, Bob <bob@example.org>, Carol <carol@example.org>"
    env = {**os.environ, **pulse.env}
    player = pulse.play(played)
    proc = subprocess.Popen([sys.executable, "-m", "voicebot", "record", "--yes", "--title", "live standup",
                             "--invite", invite], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        meeting_id = proc.stdout.readline().split()[1]
        directory = home_with_models / "recordings" / meeting_id
        counts, deadline = [], time.monotonic() + 240
        while time.monotonic() < deadline and len(set(c for c in counts if c)) < 2:
            time.sleep(1.0)
            assert proc.poll() is None, proc.communicate()
            counts.append(_segments(directory))
        assert len(set(c for c in counts if c)) >= 2, f"the transcript did not grow while recording: {counts}"
        from voicebot.archive import open_archive

        with open_archive(load_settings()) as db:  # the web can show it, to those who may see it
            assert db.get_meeting(meeting_id)["status"] == "recording"
        worker = next(e["pid"] for e in live.read_log(directory) if e["event"] == "start")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the live worker outlived the recorder"
    finally:
        if proc.poll() is None:
            proc.kill()
        player.kill()
    live_until = schema.read_json(directory / recordings.TRANSCRIPT_PARTIAL)["done_until"]

    resumed = run_cli("resume")
    assert resumed.returncode == 0, resumed.stderr
    events = [e for e in pipeline.read_log(directory) if e["event"] == "chunks"]
    assert events[-1]["resumed_from"] == pytest.approx(live_until)  # the live work was not redone
    recipients = sorted(to for r in smtp.handler.received for to in r.rcpt_tos)
    assert recipients == ["alice@example.org", "bob@example.org", "carol@example.org"]  # one email each

    # the same audio through the batch pipeline alone gives the same minutes
    settings = load_settings()
    batch = pipeline.import_audio(settings, directory / recordings.AUDIO, title="live standup", new_meeting=True)
    batch_dir = settings.recordings_dir / batch.id
    meeting = recordings.load_meeting(batch_dir)
    meeting.invitees = recordings.load_meeting(directory).invitees
    recordings.save_meeting(batch_dir, meeting)
    pipeline.process(settings, batch.id, email=False)
    smtp.stop()
    ours, theirs = (json.loads((d / recordings.MINUTES_JSON).read_text()) for d in (directory, batch_dir))
    for key in ("summary", "decisions", "action_items", "open_questions", "present", "absent"):
        assert ours.get(key) == theirs.get(key), key
    words = [schema.read_json(d / recordings.TRANSCRIPT)["segments"] for d in (directory, batch_dir)]
    assert [s["text"] for s in words[0]] == [s["text"] for s in words[1]]


# --- the web page of a meeting being recorded -------------------------------------------------------


def test_the_meeting_page_shows_the_transcript_growing_to_whoever_may_see_it(team):
    from security_helpers import PASSWORD
    from web_helpers import USER, app_client, login, settings_of

    home, env = team
    settings = settings_of(home, **env)
    directory = make_recording(settings, np.zeros(SR, np.int16), title="live web",
                               invitees=[schema.Person("Alice", "alice@example.org")])
    meeting_id = directory.name
    live.show_in_archive(settings, directory)
    lines = [schema.Segment(0.5, 2.0, "Good morning everyone.", language="en"),
             schema.Segment(2.5, 4.0, "<b>Budget</b> first.", language="en")]
    pipeline.transcript_checkpoint(settings, recordings.load_meeting(directory), _engine_named(),
                                   directory).save(lines[:1], 2.0)
    with app_client(home, **env) as http:
        login(http, user="alice", password=PASSWORD)  # invited: she may see it
        page = http.get(f"/meetings/{meeting_id}")
        assert page.status_code == 200 and 'id="live"' in page.text and "/static/live.js" in page.text
        first = http.get(f"/api/meetings/{meeting_id}/live").json()
        assert first == {"recording": True, "done": False, "count": 1,
                         "segments": [{"start": 0.5, "end": 2.0, "text": "Good morning everyone."}]}
        pipeline.transcript_checkpoint(settings, recordings.load_meeting(directory), _engine_named(),
                                       directory).save(lines, 4.0)
        grown = http.get(f"/api/meetings/{meeting_id}/live", params={"after": 1}).json()
        assert grown["count"] == 2 and [s["text"] for s in grown["segments"]] == ["<b>Budget</b> first."]
        assert "textContent = seg.text" in http.get("/static/live.js").text  # lines go in as text, not markup
    with app_client(home, **env) as http:
        login(http, user="zoe", password=PASSWORD)  # not invited, not shared: no such meeting for her
        assert http.get(f"/api/meetings/{meeting_id}/live").status_code == 404
        assert http.get(f"/meetings/{meeting_id}").status_code == 404
    with app_client(home, **env) as http:  # not logged in
        assert http.get(f"/api/meetings/{meeting_id}/live").status_code in (401, 303)
    with app_client(home, **env) as http:
        login(http, user=USER)  # an admin sees it too; once recorded it is no longer "recording"
        meeting = recordings.load_meeting(directory)
        meeting.status = "recorded"
        recordings.save_meeting(directory, meeting)
        assert http.get(f"/api/meetings/{meeting_id}/live").json()["recording"] is False


def _engine_named():
    """An engine's name and model, all the transcription checkpoint's key needs from it."""
    class Named:
        name, model_name = "faster-whisper", "base"
    return Named()


def test_the_recorder_shows_the_last_lines_under_its_meter(home):
    from rich.console import Console

    from voicebot.cli import record as record_cli
    from voicebot.record.capture import RecordStatus

    settings = load_settings()
    directory = make_recording(settings, np.zeros(SR, np.int16), title="meter")
    lines = [schema.Segment(float(i), i + 0.9, f"line {i} [bold]x[/]", language="en") for i in range(5)]
    pipeline.transcript_checkpoint(settings, recordings.load_meeting(directory), _engine_named(),
                                   directory).save(lines, 5.0)
    view = record_cli._StatusView()
    shown = []

    class Live:
        def update(self, text):
            shown.append(text)

        def stop(self):
            pass

    view.live = Live()
    view(RecordStatus(event="tick", meeting_id=directory.name, directory=directory, elapsed=6.0, level_db=-20.0))
    console = Console(width=200, record=True)
    console.print(shown[-1])
    text = console.export_text()
    assert "REC" in text and "0:00:02 line 2 [bold]x[/]" in text and "0:00:04 line 4" in text
    assert "line 1" not in text  # the last three
