"""Voiceprints and names on real voices: corpus speakers cut by their rttm.

Enrolment uses the first half of a recording, identification the second half
(never the same audio). Diane is speaker90 of pyannote-sample, Marc is MEE009
of ami-dev01 (a different recording, microphone and language community)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from voicebot.audio import load_audio
from voicebot.diarize import MATCH_THRESHOLD, name_speakers, relabel, voiceprint
from voicebot.diarize.naming import speaker_voices
from voicebot.schema import Segment, Transcript, Turn, turns_from_rttm

SR = 16000
pytestmark = pytest.mark.slow


def halves(corpus, name):
    audio = load_audio(corpus / f"{name}.flac")
    turns = turns_from_rttm((corpus / f"{name}.rttm").read_text())
    mid = len(audio) / SR / 2
    first = [t for t in turns if t.end <= mid]
    second = [Turn(t.start - mid, t.end - mid, t.speaker) for t in turns if t.start >= mid]
    return audio[: int(mid * SR)], first, audio[int(mid * SR):], second


def solo_clip(audio, turns, speaker):
    """The speaker's own turns laid end to end: what a user would record to enroll."""
    return np.concatenate([audio[int(t.start * SR):int(t.end * SR)] for t in turns if t.speaker == speaker])


@pytest.fixture(scope="module")
def people(corpus):
    a1, t1, _, _ = halves(corpus, "en/pyannote-sample")
    m1, mt1, _, _ = halves(corpus, "ami/ami-dev01")
    return [{"name": "Diane", "email": "diane@example.org", "voiceprint": voiceprint(solo_clip(a1, t1, "speaker90"))},
            {"name": "Marc", "email": None, "voiceprint": voiceprint(solo_clip(m1, mt1, "MEE009"))},
            {"name": "Nobody", "email": "n@example.org", "voiceprint": None}]


def test_enrolled_voice_is_named_and_the_other_stays_anonymous(corpus, people):
    _, _, meeting, turns = halves(corpus, "en/pyannote-sample")
    result = name_speakers(meeting, turns, people)
    assert result["labels"]["speaker90"]["name"] == "Diane"
    assert result["labels"]["speaker90"]["email"] == "diane@example.org"
    assert result["labels"]["speaker90"]["score"] >= MATCH_THRESHOLD
    assert result["labels"]["speaker91"] is None
    assert result["present"] == ["Diane"]
    assert result["unnamed"] == {"speaker91": "Speaker 1"}
    json.dumps(result)  # stored as speakers.json
    transcript = Transcript("en", 15.0, "m", "e", [Segment(0.0, 1.0, "hi", speaker="speaker91"),
                                                   Segment(1.0, 2.0, "hello", speaker="speaker90")])
    assert [s.speaker for s in relabel(transcript, result).segments] == ["Speaker 1", "Diane"]


def test_threshold_refuses_unknown_voices(corpus, people, tmp_path):
    """Only people who are not in the meeting are enrolled: nobody may be named."""
    import subprocess

    _, _, meeting, turns = halves(corpus, "en/pyannote-sample")
    wav = tmp_path / "robot.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "Good morning, this is the weekly project "
                    "meeting and we will start with the budget, then the planning for next month."], check=True)
    strangers = [people[1], {"name": "Robot", "email": None, "voiceprint": voiceprint(wav)}]
    result = name_speakers(meeting, turns, strangers)
    assert result["present"] == []
    assert set(result["unnamed"].values()) == {"Speaker 1", "Speaker 2"}
    # the scores were below the calibrated threshold, not merely beaten by another candidate
    voices = speaker_voices(meeting, turns)
    for vector in voices.values():
        for person in strangers:
            assert float(vector @ person["voiceprint"]) < MATCH_THRESHOLD


def test_each_person_is_used_at_most_once(corpus, people):
    _, _, meeting, turns = halves(corpus, "en/pyannote-sample")
    result = name_speakers(meeting, turns, [people[0]], threshold=0.01)  # even a lax threshold
    assert [v["name"] for v in result["labels"].values() if v] == ["Diane"]
    assert result["labels"]["speaker90"]["name"] == "Diane"


def test_too_little_speech_is_refused(corpus):
    from voicebot.errors import UserError

    with pytest.raises(UserError, match="at least 2 s"):
        voiceprint(load_audio(corpus / "fr" / "leopard-fr.flac")[: SR // 2])
    with pytest.raises(UserError):
        voiceprint(np.zeros(5 * SR, dtype=np.float32))


def test_cli_enroll_list_remove_and_rename_speaker(corpus, home, tmp_path):
    from tests.conftest import run_cli
    from voicebot import recordings
    from voicebot.archive import open_archive
    from voicebot.config import load_settings
    from voicebot.schema import Meeting, dumps, turns_to_rttm

    first, t1, second, t2 = halves(corpus, "en/pyannote-sample")
    clip = tmp_path / "diane.wav"
    soundfile.write(clip, solo_clip(first, t1, "speaker90"), SR)
    done = run_cli("voices", "enroll", "Diane", str(clip), "--email", "diane@example.org", "--keep-audio")
    assert done.returncode == 0, done.stderr
    assert (home / "voices" / "diane.wav").is_file()
    listed = json.loads(run_cli("voices", "list", "--json").stdout)
    assert listed[0]["name"] == "Diane" and listed[0]["voiceprint"] is True
    upgraded = run_cli("voices", "upgrade")
    assert upgraded.returncode == 0 and "already up to date" in upgraded.stdout

    short = tmp_path / "short.wav"
    soundfile.write(short, second[: SR], SR)
    bad = run_cli("voices", "enroll", "X", str(short))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "speech" in bad.stderr

    # a processed meeting: Diane named, the other voice "Speaker 1"; rename it and enroll it
    settings = load_settings()
    meeting_id = "20261124-100000-weekly-ab12"
    folder = settings.recordings_dir / meeting_id
    folder.mkdir(parents=True)
    soundfile.write(folder / recordings.AUDIO, second, SR, format="FLAC")
    (folder / recordings.DIARIZATION).write_text(turns_to_rttm(t2, meeting_id))
    with open_archive(settings) as db:
        candidates = db.list_people()
    naming = name_speakers(folder / recordings.AUDIO, t2, candidates)
    assert naming["unnamed"] == {"speaker91": "Speaker 1"}
    (folder / recordings.SPEAKERS).write_text(dumps(naming))
    transcript = relabel(Transcript("en", 15.0, "base", "faster-whisper",
                                    [Segment(t.start, t.end, "words", speaker=t.speaker) for t in t2]), naming)
    (folder / recordings.TRANSCRIPT).write_text(dumps(transcript))
    meeting = Meeting(id=meeting_id, title="Weekly", started_at="2026-11-24T10:00:00+01:00", status="recorded")
    recordings.save_meeting(folder, meeting)
    with open_archive(settings) as db:
        db.save_meeting(meeting, directory=folder)
        db.save_transcript(meeting_id, transcript)

    renamed = run_cli("meetings", "rename-speaker", meeting_id, "Speaker 1", "Sheila", "--enroll")
    assert renamed.returncode == 0, renamed.stderr
    saved = Transcript.from_dict(json.loads((folder / recordings.TRANSCRIPT).read_text()))
    assert set(saved.speakers) == {"Diane", "Sheila"}
    speakers = json.loads((folder / recordings.SPEAKERS).read_text())
    assert speakers["labels"]["speaker91"]["name"] == "Sheila" and "Sheila" in speakers["present"]
    with open_archive(settings) as db:
        assert set(db.get_transcript(meeting_id).speakers) == {"Diane", "Sheila"}
        sheila = db.get_person("Sheila")
    assert sheila is not None and sheila["has_voiceprint"]
    # the enrolled voice now names Sheila in the same kind of audio, Diane still Diane
    with open_archive(settings) as db:
        again = name_speakers(folder / recordings.AUDIO, t2, db.list_people())
    assert sorted(again["present"]) == ["Diane", "Sheila"]

    gone = run_cli("voices", "remove", "Diane")
    assert gone.returncode == 0 and not (home / "voices" / "diane.wav").exists()
    assert json.loads(run_cli("voices", "list", "--json").stdout)[0]["voiceprint"] is False
    missing = run_cli("meetings", "rename-speaker", "20261124-100000-nothing-0000", "A", "B")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_voiceprints_of_the_previous_encoder_still_name_their_owner(corpus, people):
    """Diane was enrolled with Resemblyzer (256 floats), Marc with CAM++ (192): both kinds are compared
    with the speaker's voice of their own encoder, under their own threshold."""
    from voicebot.diarize.naming import THRESHOLDS, encoder_of

    a1, t1, meeting, turns = halves(corpus, "en/pyannote-sample")
    old = voiceprint(solo_clip(a1, t1, "speaker90"), encoder="resemblyzer")
    assert encoder_of(old) == "resemblyzer" and encoder_of(people[1]["voiceprint"]) == "campplus"
    diane = {"name": "Diane", "email": None, "voiceprint": old}
    result = name_speakers(meeting, turns, [diane, people[1]])
    assert result["labels"]["speaker90"]["name"] == "Diane"
    assert result["labels"]["speaker90"]["score"] >= THRESHOLDS["resemblyzer"]
    assert result["present"] == ["Diane"] and result["threshold"] == MATCH_THRESHOLD


def test_upgrade_remakes_old_voiceprints_from_kept_clips_and_lists_the_others(corpus, home, tmp_path):
    from voicebot.archive import open_archive
    from voicebot.config import load_settings
    from voicebot.diarize.naming import encoder_of, upgrade_voiceprints

    a1, t1, _, _ = halves(corpus, "en/pyannote-sample")
    clip = solo_clip(a1, t1, "speaker90")
    (home / "voices").mkdir()
    soundfile.write(home / "voices" / "diane.wav", clip, SR)  # what `voices enroll --keep-audio` keeps
    settings = load_settings()
    with open_archive(settings) as db:
        db.upsert_person("Diane", voiceprint=voiceprint(clip, encoder="resemblyzer"), source="enrolled from d.wav")
        db.upsert_person("Bob", voiceprint=np.ones(256, dtype=np.float32) / 16, source="enrolled from b.wav")
        db.upsert_person("Carla", voiceprint=voiceprint(clip), source="enrolled from c.wav")
        report = upgrade_voiceprints(db, home, settings.recordings_dir)
        assert report == {"upgraded": ["Diane"], "re-record": ["Bob"], "current": ["Carla"]}
        assert encoder_of(db.get_person("Diane")["voiceprint"]) == "campplus"
        assert db.get_person("Diane")["source"] == "enrolled from d.wav"
        assert encoder_of(db.get_person("Bob")["voiceprint"]) == "resemblyzer"  # kept until re-recorded
        assert upgrade_voiceprints(db, home, settings.recordings_dir)["upgraded"] == []
