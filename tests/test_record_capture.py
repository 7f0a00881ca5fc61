"""`voicebot record` through the real capture path: a private PulseAudio
server (tests/pulse.py) whose null sink plays corpus speech or generated
noise, PortAudio's default input hearing it, the recorder in a subprocess
as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from record_helpers import follow, noise_file, wait_for_event

from voicebot import recordings
from voicebot.record.control import read_events

pytestmark = pytest.mark.slow
RATE = 16000
SKIP = RATE // 4  # what the sound server may skip at the start of a new player (tests/pulse.py)


def start_recorder(pulse, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """``voicebot record --no-process ARGS`` in a subprocess (recording only: the pipeline after it is tested
    in test_pipeline_*); returns once it is capturing, with the meeting id."""
    proc = subprocess.Popen([sys.executable, "-m", "voicebot", "record", "--no-process", *args],
                            env={**os.environ, **pulse.env, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("recording: "):
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the recorder did not start: {line}{out}\n{err}")
    return proc, line.split()[1]


def voicebot(pulse, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicebot", *args], env={**os.environ, **pulse.env},
                          capture_output=True, text=True, timeout=300)


def test_record_speech_then_stop_from_another_terminal(home_with_models, pulse, corpus, tmp_path):
    """Speech played into the room is recorded sample for sample and transcribes to the right words."""
    from bench.scoring import stm_text, wer
    from voicebot.asr import transcribe
    from voicebot.config import load_settings

    ics = tmp_path / "invite.ics"
    ics.write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Conseil général\nDTSTART:20261124T090000Z\n"
                   "ORGANIZER;CN=Chloé Durand:mailto:chloe@example.org\nEND:VEVENT\nEND:VCALENDAR\n",
                   encoding="utf-8")
    proc, meeting_id = start_recorder(pulse, "--ics", str(ics), "--invite", "Bob <bob@example.org>",
                                      "--language", "fr")
    speech = corpus / "fr" / "leopard-fr.flac"
    pulse.play(speech).wait(timeout=60)
    stopped = voicebot(pulse, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"{meeting_id}: stopped (recorded)" in stopped.stdout
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"ready to process: voicebot process {meeting_id}" in out
    assert "Consent" in err and "enregistrée" in err  # the notice was shown before recording

    directory = home_with_models / "recordings" / meeting_id
    meeting = recordings.load_meeting(directory)
    assert meeting.status == "recorded" and meeting.title == "Conseil général" and meeting.language == "fr"
    assert [(p.name, p.email, p.role) for p in meeting.invitees] == [
        ("Chloé Durand", "chloe@example.org", "organizer"), ("Bob", "bob@example.org", "attendee")]
    assert meeting.consent_notice_shown_at and meeting.samplerate == RATE and meeting.ended_at
    assert not (directory / recordings.CHUNKS).exists()  # verified into audio.flac, then removed
    assert [e["event"] for e in read_events(directory)] == ["start", "capturing", "stop"]

    recorded, rate = sf.read(directory / recordings.AUDIO, dtype="int16")
    played, _ = sf.read(speech, dtype="int16")
    assert rate == RATE
    match = follow(recorded, played)
    assert match.ok, match.detail  # the speech is in the recording sample for sample
    assert match.played_start < SKIP  # the sound server may start a few ms into the file
    assert match.played_start + match.held == len(played)

    transcript = transcribe(directory / recordings.AUDIO, load_settings(), language="fr")
    reference = stm_text(corpus / "fr" / "leopard-fr.stm")
    score = wer(reference, transcript.text)
    print(f"recorded speech: WER {score['wer']:.2f} ({transcript.text!r})")
    assert score["wer"] <= 0.35, transcript.text


def test_ctrl_c_ends_the_recording_cleanly(home, pulse, tmp_path):
    path = tmp_path / "noise.wav"
    played = noise_file(path, 4, seed=21)
    proc, meeting_id = start_recorder(pulse, "--title", "ctrl c")
    pulse.play(path).wait(timeout=60)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping (interrupted)" in err and "ready to process" in out
    directory = home / "recordings" / meeting_id
    assert recordings.load_meeting(directory).status == "recorded"
    recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
    match = follow(recorded, played)
    assert match.ok and match.played_start < SKIP and match.played_start + match.held == len(played), match


def test_device_lost_mid_meeting_is_reopened_and_nothing_is_lost(home, pulse, tmp_path):
    """The sound server dies (as a USB microphone pulled out): the recorder keeps what it has, says so,
    and records again once the device is back."""
    before = noise_file(tmp_path / "before.wav", 3, seed=22)
    after = noise_file(tmp_path / "after.wav", 3, seed=23)
    proc, meeting_id = start_recorder(pulse, "--title", "device lost", "--device", "default")
    pulse.play(tmp_path / "before.wav").wait(timeout=60)
    time.sleep(0.5)
    pulse.kill()
    time.sleep(2.5)  # the recorder notices and retries every second
    pulse.start()
    directory = home / "recordings" / meeting_id
    wait_for_event(directory, "device-reopened", proc)
    pulse.play(tmp_path / "after.wav").wait(timeout=60)
    assert voicebot(pulse, "stop").returncode == 0
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped delivering audio" in err and "everything recorded so far is saved" in err
    assert "recording again from default" in err
    events = [e["event"] for e in read_events(directory)]
    assert events.index("device-lost") < events.index("device-reopened") < events.index("stop")
    recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
    first = follow(recorded, before)  # everything before the loss was kept...
    assert first.ok and first.played_start < SKIP and first.played_start + first.held == len(before), first
    second = follow(recorded[first.recorded_start + first.held + first.inserted:], after)  # ...then the rest
    assert second.ok and second.played_start < SKIP and second.played_start + second.held == len(after), second


def test_a_device_that_only_does_48k_stereo_still_gives_16k_mono(home, pulse, corpus):
    proc, meeting_id = start_recorder(pulse, "--title", "hifi",
                                      env={"VOICEBOT_RECORD_SAMPLERATE": "48000", "VOICEBOT_RECORD_CHANNELS": "2"})
    speech = corpus / "fr" / "leopard-fr.flac"
    pulse.play(speech).wait(timeout=60)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    directory = home / "recordings" / meeting_id
    meeting = recordings.load_meeting(directory)
    assert (meeting.samplerate, meeting.channels) == (48000, 2)
    info = sf.info(directory / recordings.AUDIO)
    assert (info.samplerate, info.channels) == (RATE, 1)
    recorded, _ = sf.read(directory / recordings.AUDIO, dtype="float32")
    played, _ = sf.read(speech, dtype="float32")
    # resampled twice (by the sound server, then by us): not sample-exact, but the same sound
    corr = np.correlate(recorded, played[RATE:3 * RATE], mode="valid")
    best = int(np.argmax(corr))
    segment = recorded[best:best + 2 * RATE]
    similarity = float(np.dot(segment, played[RATE:3 * RATE]) /
                       (np.linalg.norm(segment) * np.linalg.norm(played[RATE:3 * RATE])))
    assert similarity > 0.95, similarity


def test_devices_lists_the_inputs_and_a_bad_device_is_refused(home, pulse):
    listed = voicebot(pulse, "devices")
    assert listed.returncode == 0 and "default" in listed.stdout
    bad = voicebot(pulse, "record", "--device", "no-such-microphone")
    assert bad.returncode == 2
    assert "no input device matches 'no-such-microphone'" in bad.stderr and "Traceback" not in bad.stderr
    assert not list((home / "recordings").glob("*")) if (home / "recordings").exists() else True


def test_stop_without_a_recording_says_so(home, pulse):
    result = voicebot(pulse, "stop")
    assert result.returncode == 2 and "no recording in progress" in result.stderr


def test_warnings_for_long_silence_and_low_disk(home, pulse):
    proc, meeting_id = start_recorder(pulse, "--title", "muted",
                                      env={"VOICEBOT_RECORD_SILENCE_WARNING_SECONDS": "1.5",
                                           "VOICEBOT_RECORD_LOW_DISK_MB": str(10 ** 9)})
    directory = home / "recordings" / meeting_id
    wait_for_event(directory, "silence", proc)  # the input plays digital silence
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "no sound for 2 s: is the microphone muted, or is it the wrong one?" in err
    assert "low disk space:" in err and "low-disk" in [e["event"] for e in read_events(directory)]


def test_live_line_on_a_terminal(home, pulse):
    """On a terminal the recorder shows elapsed time, a level meter and free disk, refreshed in place."""
    import pty

    main, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "voicebot", "record", "--no-process", "--title", "tty"],
                            env={**os.environ, **pulse.env, "COLUMNS": "120"}, stdin=secondary, stdout=secondary,
                            stderr=secondary)
    os.close(secondary)
    screen = b""
    deadline = time.monotonic() + 60
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the recorder closed the terminal
            break
        if not data:
            break
        screen += data
        if b"0:00:02" in screen and proc.poll() is None and time.monotonic() < deadline:
            proc.send_signal(signal.SIGINT)  # two seconds of audio shown: enough
            deadline = 0
    os.close(main)
    assert proc.wait(timeout=60) == 0
    text = screen.decode("utf-8", errors="replace")
    assert "● REC" in text and "0:00:01" in text and "GB free" in text and " dB" in text and "0:00:02" in text
    assert "ready to process" in text


def test_a_frozen_recorder_catches_up_without_losing_audio(home, pulse, tmp_path):
    """The recorder's process stops being scheduled for a while (a busy or stalled laptop): the sound
    system holds the audio, the recorder takes the backlog when it runs again."""
    path = tmp_path / "noise.wav"
    played = noise_file(path, 10, seed=25)
    player = pulse.play(path)
    proc, meeting_id = start_recorder(pulse, "--title", "frozen")
    directory = home / "recordings" / meeting_id
    wait_for_event(directory, "capturing", proc)
    time.sleep(1.0)
    proc.send_signal(signal.SIGSTOP)
    time.sleep(3.0)
    proc.send_signal(signal.SIGCONT)
    player.wait(timeout=60)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
    match = follow(recorded, played)
    assert match.ok and match.played_start + match.held == len(played), match


def test_library_record_stops_on_its_event_and_reports_status(home, pulse, tmp_path, monkeypatch):
    """``voicebot.record.record`` called in-process (as the pipeline or the web app may): the ``stop``
    event ends it, ``on_status`` sees the consent notice first, then the recording."""
    import threading

    from voicebot.config import load_settings
    from voicebot.record import CONSENT_NOTICE, record
    from voicebot.schema import Person

    for key, value in pulse.env.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "noise.wav"
    played = noise_file(path, 3, seed=26)
    stop = threading.Event()
    seen = []

    def on_status(status):
        seen.append(status)
        if status.event == "started":
            def play_then_stop():
                pulse.play(path).wait(timeout=60)
                time.sleep(0.3)
                stop.set()
            threading.Thread(target=play_then_stop, daemon=True).start()

    meeting = record(load_settings(), title="library", invitees=[Person("Alice", "alice@example.org")],
                     language="en", stop=stop, on_status=on_status)
    events = [s.event for s in seen]
    assert events[0] == "consent" and seen[0].message == CONSENT_NOTICE
    assert events[1] == "started" and "tick" in events and events[-2:] == ["stopping", "stopped"]
    assert meeting.status == "recorded" and meeting.language == "en" and meeting.invitees[0].name == "Alice"
    ticks = [s for s in seen if s.event == "tick"]
    assert ticks[-1].elapsed > 2 and ticks[-1].free_bytes > 0 and max(s.level_db for s in ticks) > -20
    directory = home / "recordings" / meeting.id
    assert recordings.load_meeting(directory) == meeting
    recorded, _ = sf.read(directory / recordings.AUDIO, dtype="int16")
    match = follow(recorded, played)
    assert match.ok and match.played_start < SKIP and match.played_start + match.held == len(played), match


def test_record_first_repairs_what_a_crash_left(home, pulse):
    from record_helpers import make_recording, noise

    from voicebot.config import load_settings

    crashed = make_recording(load_settings(), noise(RATE, seed=27), finish=False)
    proc, meeting_id = start_recorder(pulse, "--title", "next meeting")
    wait_for_event(home / "recordings" / meeting_id, "capturing", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"recovered an unfinished recording: {crashed.name}: recovered 1.0 s" in err
    assert f"ready to process: voicebot process {crashed.name}" in err
    assert recordings.load_meeting(crashed).status == "recovered"
    assert f"ready to process: voicebot process {meeting_id}" in out
