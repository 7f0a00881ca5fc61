"""Chunk files, assembly and recovery, without a sound card: the writer is fed
generated audio, files are damaged the way crashes and disks damage them, and
a writer process is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import run_cli
from record_helpers import make_recording, noise

from voicebot import recordings, schema
from voicebot.config import load_settings
from voicebot.errors import UserError
from voicebot.record import find_unfinished, recover
from voicebot.record.chunks import ChunkError, ChunkFile, list_chunks, read_chunk
from voicebot.record.control import DirLock, read_events
from voicebot.record.recover import summary
from voicebot.record.writer import ChunkWriter

RATE = 16000


def _flac(directory: Path) -> np.ndarray:
    data, rate = sf.read(directory / recordings.AUDIO, dtype="int16")
    assert rate == RATE and data.ndim == 1
    return data


def test_writer_makes_independent_pieces_that_add_up_exactly(tmp_path):
    audio = noise(int(3.55 * RATE), seed=1)
    writer = ChunkWriter(tmp_path, RATE, 1, chunk_seconds=1.0)
    writer.start()
    for start in range(0, len(audio), 1600):
        writer.submit(audio[start:start + 1600].reshape(-1, 1))
    writer.finish()
    pieces = list_chunks(tmp_path)
    assert [p.name for p in pieces] == ["000000.wav", "000001.wav", "000002.wav", "000003.wav"]
    for piece in pieces:  # any player reads each piece alone
        data, rate = sf.read(piece, dtype="int16")
        assert rate == RATE
    assert [sf.info(p).frames for p in pieces] == [RATE, RATE, RATE, int(0.55 * RATE)]
    joined = np.concatenate([read_chunk(p).frames[:, 0] for p in pieces])
    assert np.array_equal(joined, audio)
    assert writer.chunks_closed == 4 and writer.frames_written == len(audio) and writer.error is None


def test_writer_starts_a_new_piece_when_the_format_changes(tmp_path):
    """A device reopened at another rate: the pieces before and after each say their own format."""
    writer = ChunkWriter(tmp_path, RATE, 1, chunk_seconds=1.0)
    writer.start()
    writer.submit(noise(RATE // 2, seed=13).reshape(-1, 1))
    writer.change_format(48000, 2)
    writer.submit(noise(48000, seed=14).reshape(-1, 2))
    writer.finish()
    pieces = [read_chunk(p) for p in list_chunks(tmp_path)]
    assert [(p.samplerate, p.channels, len(p.frames)) for p in pieces] == [(RATE, 1, RATE // 2), (48000, 2, 24000)]
    assert writer.seconds_written == 1.0


def test_a_piece_in_progress_is_readable_up_to_its_last_whole_frame(tmp_path):
    piece = ChunkFile(tmp_path, 7, RATE, 2)
    stereo = noise(2 * 1000, seed=2).reshape(-1, 2)
    piece.append(stereo)
    with open(piece.path, "ab") as fh:
        fh.write(b"\x01\x02\x03")  # a crash in the middle of a frame
    read = read_chunk(piece.path)
    assert read.cut and read.channels == 2 and np.array_equal(read.frames, stereo)
    piece.abandon()


def test_damaged_pieces_are_refused_with_a_reason(tmp_path):
    cases = {"empty.wav": b"", "random.wav": bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8)),
             "zeros.wav": bytes(32044)}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ChunkError):
            read_chunk(tmp_path / name)
    float_wav = tmp_path / "float.wav"
    sf.write(float_wav, np.zeros(100, np.float32), RATE, subtype="FLOAT")
    with pytest.raises(ChunkError, match="16-bit PCM"):
        read_chunk(float_wav)


def test_recovery_cuts_truncated_pieces_skips_damaged_ones_and_keeps_them(home):
    settings = load_settings()
    audio = noise(5 * RATE, seed=4)
    directory = make_recording(settings, audio, chunk_seconds=1.0, finish=False)
    chunks = directory / recordings.CHUNKS
    names = [p.name for p in list_chunks(chunks)]
    assert names[-1].endswith(".partial")  # the piece that was being written when "the program died"
    # a closed piece truncated in the middle of a frame, another overwritten with garbage
    second = chunks / "000001.wav"
    second.write_bytes(second.read_bytes()[:44 + 2 * 6000 + 1])
    third = chunks / "000002.wav"
    third.write_bytes(b"\x00" * third.stat().st_size)
    assert [m.id for m in find_unfinished(settings)] == [directory.name]

    reports = []
    recovered = recover(settings, on_recovered=reports.append)
    assert [m.id for m in recovered] == [directory.name] and recovered[0].status == "recovered"
    [report] = reports
    assert report.assembly.cut == ["000001.wav", names[-1]]
    assert report.assembly.unreadable == [("000002.wav", "not a WAV file (damaged header)")]
    assert not report.chunks_removed and third.exists()  # nothing recorded is deleted
    expected = np.concatenate([audio[:RATE], audio[RATE:RATE + 6000], audio[3 * RATE:]])
    assert np.array_equal(_flac(directory), expected)
    line = summary(report)
    assert "000002.wav (not a WAV file (damaged header))" in line and "chunks/ kept" in line
    meeting = recordings.load_meeting(directory)
    assert meeting.status == "recovered" and meeting.ended_at
    assert read_events(directory)[-1]["event"] == "recovered"
    assert find_unfinished(settings) == [] and recover(settings) == []  # done once, not again


def test_recovery_of_a_clean_crash_removes_chunks_only_once_verified(home):
    settings = load_settings()
    audio = noise(int(2.3 * RATE), seed=5)
    directory = make_recording(settings, audio, chunk_seconds=0.5, finish=False)
    [report] = _recover_all(settings)
    assert report.assembly.verified and report.assembly.complete and report.chunks_removed
    assert not (directory / recordings.CHUNKS).exists()
    assert np.array_equal(_flac(directory), audio)


def test_keep_chunks_setting_keeps_them(home, monkeypatch):
    monkeypatch.setenv("VOICEBOT_RECORD_KEEP_CHUNKS", "true")
    settings = load_settings()
    directory = make_recording(settings, noise(RATE, seed=6), finish=False)
    [report] = _recover_all(settings)
    assert report.assembly.complete and not report.chunks_removed and (directory / recordings.CHUNKS).is_dir()


def _recover_all(settings):
    reports = []
    recover(settings, on_recovered=reports.append)
    return reports


def test_a_folder_without_audio_is_marked_empty_and_keeps_its_invite_list(home):
    settings = load_settings()
    directory = make_recording(settings, np.zeros(0, np.int16), finish=False,
                               invitees=[schema.Person("Alice", "alice@example.org")])
    [report] = _recover_all(settings)
    assert report.meeting.status == "empty" and not report.processable
    meeting = recordings.load_meeting(directory)
    assert meeting.status == "empty" and meeting.invitees[0].email == "alice@example.org"
    assert not (directory / recordings.AUDIO).exists()
    assert "no audio had been recorded" in summary(report)
    assert find_unfinished(settings) == []


def test_missing_or_damaged_metadata_is_rebuilt_from_the_folder(home):
    settings = load_settings()
    audio = noise(RATE, seed=7)
    gone = make_recording(settings, audio, finish=False)
    (gone / recordings.MEETING_JSON).unlink()
    damaged = make_recording(settings, audio, finish=False, title="other")
    (damaged / recordings.MEETING_JSON).write_text('{"id": "20261124', encoding="utf-8")
    reports = _recover_all(settings)
    assert len(reports) == 2 and all(r.rebuilt_metadata and r.meeting.status == "recovered" for r in reports)
    assert (damaged / "meeting.json.damaged").read_text(encoding="utf-8").startswith('{"id"')
    for directory in (gone, damaged):
        meeting = recordings.load_meeting(directory)
        assert meeting.id == directory.name and meeting.started_at.startswith(directory.name[:4])
        assert np.array_equal(_flac(directory), audio)


def test_a_recording_in_progress_is_left_alone(home):
    settings = load_settings()
    directory = make_recording(settings, noise(RATE, seed=8), finish=False)
    lock = DirLock(directory)
    assert lock.acquire()  # as the live recorder holds it
    try:
        assert find_unfinished(settings) == [] and _recover_all(settings) == []
        with pytest.raises(UserError, match="not unfinished"):
            recover(settings, meeting_id=directory.name)
    finally:
        lock.release()
    assert len(_recover_all(settings)) == 1


def test_pieces_in_other_formats_become_16k_mono(home):
    settings = load_settings()
    directory = make_recording(settings, np.zeros(0, np.int16), finish=False)
    chunks = directory / recordings.CHUNKS
    t = np.arange(48000 * 2) / 48000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    first = ChunkFile(chunks, 0, 48000, 2)  # a device that only does 48 kHz stereo
    first.append(np.stack([tone, tone], axis=1))
    first.close()
    second = ChunkFile(chunks, 1, 16000, 1)  # reopened later at 16 kHz mono
    second.append(noise(RATE, seed=9).reshape(-1, 1))
    second.close()
    [report] = _recover_all(settings)
    audio = _flac(directory)
    assert abs(len(audio) - 3 * RATE) <= 64
    spectrum = np.abs(np.fft.rfft(audio[4000:20000].astype(float)))
    assert abs(np.argmax(spectrum) * RATE / 16000 - 440) < 2  # the tone survived the resampling


def test_an_existing_longer_audio_file_is_never_replaced_by_less(home):
    settings = load_settings()
    audio = noise(3 * RATE, seed=10)
    directory = make_recording(settings, audio, finish=True)
    sf.write(directory / recordings.AUDIO, audio, RATE, subtype="PCM_16")
    (directory / recordings.CHUNKS / "000002.wav").unlink()  # e.g. removed by hand after a stop
    [report] = _recover_all(settings)
    assert report.assembly.kept_existing and not report.chunks_removed
    assert report.assembly.missing == [] and np.array_equal(_flac(directory), audio)


WRITER_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from record_helpers import noise
    from voicebot.record.writer import ChunkWriter
    audio = noise(120 * 16000, seed=int(sys.argv[2]))
    writer = ChunkWriter(Path(sys.argv[1]), 16000, 1, chunk_seconds=1.0)
    writer.start()
    for n, start in enumerate(range(0, len(audio), 1600), 1):
        writer.submit(audio[start:start + 1600].reshape(-1, 1))
        print(n, flush=True)
        time.sleep(0.01)
""")


def test_kill_9_of_a_writing_process_leaves_an_exact_prefix(home):
    """The writer path alone, ten times faster than real time, killed at random moments."""
    settings = load_settings()
    rng = np.random.default_rng(11)
    losses = []
    for run in range(5):
        directory = make_recording(settings, np.zeros(0, np.int16), finish=False, title=f"kill {run}")
        proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(directory / recordings.CHUNKS),
                                 str(run), str(Path(__file__).parent)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # the writer is running
        time.sleep(float(rng.uniform(0.1, 1.2)))
        os.kill(proc.pid, signal.SIGKILL)
        submitted = int(proc.stdout.read().split()[-1])
        proc.wait()
        assert [m.status for m in recover(settings, meeting_id=directory.name)] == ["recovered"]
        got = _flac(directory)
        stream = noise(120 * RATE, seed=run)
        assert np.array_equal(got, stream[:len(got)]), "the recovered audio is not a prefix of what was written"
        losses.append(submitted * 1600 - len(got))
    print(f"writer killed 5 times: blocks handed over but not on disk: {sorted(losses)} frames")
    # blocks handed to the writer but not yet on disk when it died: a few at most (documented bound: 1 s)
    assert max(losses) < RATE, losses


def test_recover_command_reports_and_hands_over(home):
    settings = load_settings()
    directory = make_recording(settings, noise(2 * RATE, seed=12), finish=False)
    result = run_cli("recover")
    assert result.returncode == 0, result.stderr
    assert f"{directory.name}: recovered 2.0 s of audio into audio.flac" in result.stdout
    assert f"ready to process: voicebot process {directory.name}" in result.stdout
    again = run_cli("recover")
    assert again.returncode == 0 and "nothing to recover" in again.stdout
    bad = run_cli("recover", "not-an-id")
    assert bad.returncode == 2 and "is not a meeting id" in bad.stderr and "Traceback" not in bad.stderr
