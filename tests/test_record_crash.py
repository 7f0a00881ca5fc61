"""Crashes and full disks through the real capture path.

The kill test plays a long deterministic noise stream into the private
PulseAudio server, starts `voicebot record`, kills it with SIGKILL at a
random moment, runs `voicebot recover`, and checks that the recovered
audio is an exact slice of the stream (sample for sample: nothing lost in
the middle, nothing repeated) that ends no earlier than the documented
bound before the kill. It prints the measured loss (max and median).

Loss of a run = audio the recorder had been given by the sound system by the
time of the kill, minus the audio recovered:
    (first block's frames / rate + (t_kill - t_first_block)) - recovered seconds
where t_first_block (time.monotonic(), logged in recorder.jsonl) is when the
first block reached the callback; audio then arrives in real time. The same
figure counting only the closed (fsynced) pieces at the moment of the kill
is what a power cut would have lost.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from record_helpers import follow, make_recording, noise, noise_file, resize_disk, small_disk, wait_for_event

from voicebot import recordings
from voicebot.config import load_settings
from voicebot.record import recover
from voicebot.record.chunks import list_chunks, read_chunk
from voicebot.record.control import read_events
from voicebot.record.recover import summary

RATE = 16000
PROGRAM_CRASH_BOUND = 0.5  # seconds; documented in voicebot/record/capture.py (measured: see the test output)
CHUNK_SECONDS = 1.0  # the default record.chunk_seconds: what a power cut may lose on top


def _env(pulse, home: Path) -> dict:
    return {**os.environ, **pulse.env, "VOICEBOT_HOME": str(home)}


def _launch(pulse, home: Path, title: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "voicebot", "record", "--no-process", "--title", title],
                            env=_env(pulse, home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _recover_cli(pulse, home: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "voicebot", "recover"], env=_env(pulse, home),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result


@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_an_exact_prefix(home, pulse, tmp_path):
    stream = noise_file(tmp_path / "stream.wav", 400, seed=31)
    player = pulse.play(tmp_path / "stream.wav")
    rng = np.random.default_rng(32)
    losses, power_losses, inserted, lines = [], [], [], []
    try:
        # 1) killed while recording, at random moments
        for run in range(16):
            proc = _launch(pulse, home, f"kill {run}")
            meeting_id = proc.stdout.readline().split()[1]
            directory = home / "recordings" / meeting_id
            first = wait_for_event(directory, "capturing", proc)
            time.sleep(float(rng.uniform(0.05, 6.0)))
            killed_at = time.monotonic()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            # what a power cut at that moment would have kept: the closed (fsynced) pieces only
            closed = sum(len(read_chunk(p).frames) for p in list_chunks(directory / recordings.CHUNKS)
                         if p.suffix == ".wav")
            assert f"{meeting_id}: recovered" in _recover_cli(pulse, home).stdout
            meeting = recordings.load_meeting(directory)
            assert meeting.status == "recovered"
            recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
            match = follow(recorded, stream)
            assert match.ok and match.recorded_start == 0, match  # an exact slice of what was played
            delivered = first["frames"] / RATE + (killed_at - first["monotonic"])
            loss = delivered - len(recorded) / RATE
            power_loss = delivered - closed / RATE
            losses.append(loss)
            power_losses.append(power_loss)
            inserted.append(match.inserted)
            lines.append(f"run {run:2d}: killed after {delivered:5.2f} s, recovered {len(recorded) / RATE:5.2f} s, "
                         f"loss {loss * 1000:4.0f} ms (closed pieces only: {power_loss * 1000:4.0f} ms)")
            assert loss <= PROGRAM_CRASH_BOUND, lines[-1]
            assert power_loss <= CHUNK_SECONDS + PROGRAM_CRASH_BOUND, lines[-1]

        # 2) killed while starting (before or around the first block): recovery copes with whatever is there
        for run in range(4):
            proc = _launch(pulse, home, f"start {run}")
            time.sleep(float(rng.uniform(0.0, 1.5)))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            _recover_cli(pulse, home)
        for directory in recordings.list_meeting_dirs(home / "recordings"):
            meeting = recordings.load_meeting(directory)
            assert meeting.status in ("recovered", "empty"), meeting
            if meeting.status == "recovered":
                recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
                assert follow(recorded, stream).ok

        # 3) killed while stopping (Ctrl-C, then SIGKILL while audio.flac is being written)
        for run in range(3):
            proc = _launch(pulse, home, f"stop {run}")
            meeting_id = proc.stdout.readline().split()[1]
            directory = home / "recordings" / meeting_id
            wait_for_event(directory, "capturing", proc)
            time.sleep(float(rng.uniform(1.0, 3.0)))
            proc.send_signal(signal.SIGINT)
            time.sleep(float(rng.uniform(0.0, 0.3)))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            _recover_cli(pulse, home)
            meeting = recordings.load_meeting(directory)
            assert meeting.status in ("recorded", "recovered")
            recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
            assert follow(recorded, stream).ok and len(recorded) >= RATE
    finally:
        player.kill()
    print("\n" + "\n".join(lines))
    print(f"kill -9 during capture, {len(losses)} runs: loss max {max(losses) * 1000:.0f} ms, "
          f"median {statistics.median(losses) * 1000:.0f} ms, min {min(losses) * 1000:.0f} ms; "
          f"closed pieces only (a power cut): max {max(power_losses) * 1000:.0f} ms, "
          f"median {statistics.median(power_losses) * 1000:.0f} ms; "
          f"silence inserted by the sound server (late player): {sum(inserted)} samples")


@pytest.mark.slow
def test_disk_full_while_recording_stops_cleanly_and_keeps_the_audio(home, pulse, tmp_path):
    stream = noise_file(tmp_path / "stream.wav", 120, seed=33)
    player = pulse.play(tmp_path / "stream.wav")
    try:
        with small_disk(tmp_path / "disk", "256k") as disk:
            proc = _launch(pulse, disk, "disk full")
            out, err = proc.communicate(timeout=120)  # it stops by itself when the disk is full
            assert proc.returncode == 2, err
            assert "error: the disk is full: the recording stopped at 0:00:0" in err
            assert "free some space, then run `voicebot recover`" in err and "Traceback" not in err
            meeting_id = out.split()[1]
            directory = disk / "recordings" / meeting_id
            assert recordings.load_meeting(directory).status == "recording"  # unfinished, to be recovered
            stop = [e for e in read_events(directory) if e["event"] == "stop"][0]
            assert stop["error"] and stop["seconds"] > 2
            pieces = list_chunks(directory / recordings.CHUNKS)
            written = sum(len(read_chunk(p).frames) for p in pieces)  # every piece readable as it is
            assert abs(written / RATE - stop["seconds"]) < 0.01

            resize_disk(disk, "4m")  # the user frees some space
            result = _recover_cli(pulse, disk)
            assert f"{meeting_id}: recovered" in result.stdout
            recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
            assert len(recorded) == written
            match = follow(recorded, stream)
            assert match.ok and match.recorded_start == 0, match
    finally:
        player.kill()


def test_recovery_on_a_full_disk_changes_nothing_until_there_is_room(home, tmp_path, monkeypatch):
    """No room for audio.flac: the recording stays unfinished, every piece intact; later it recovers."""
    with small_disk(tmp_path / "disk", "256k") as disk:
        monkeypatch.setenv("VOICEBOT_HOME", str(disk))
        settings = load_settings()
        audio = noise(4 * RATE, seed=34)
        directory = make_recording(settings, audio, finish=False)
        before = {p.name: p.read_bytes() for p in list_chunks(directory / recordings.CHUNKS)}
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as fh:  # fill the rest of the disk
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        reports = []
        assert recover(settings, on_recovered=reports.append) == []
        [report] = reports
        assert report.error and "could not be recovered now" in summary(report)
        assert recordings.load_meeting(directory).status == "recording"
        assert {p.name: p.read_bytes() for p in list_chunks(directory / recordings.CHUNKS)} == before
        assert not list(directory.glob(".audio.flac.tmp-*")) and not (directory / recordings.AUDIO).exists()
        filler.unlink()
        [meeting] = recover(settings)
        assert meeting.status == "recovered"
        recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
        assert np.array_equal(recorded, audio)
