"""Rebuild the sample meetings from their scripts (meeting-en.txt, meeting-fr.txt).

    python samples/make_sample.py            # rebuild everything
    python samples/make_sample.py --no-audio # only the text files (no espeak-ng run kept)

English (meeting-en.*): every turn is spoken by espeak-ng with its person's
voice, resampled to 16 kHz mono with sox, trimmed, and laid end to end with
short pauses. Written: meeting-en.flac (the meeting), meeting-en.transcript.json
(reference transcript: speakers, times, date, title), meeting-en.stm and
meeting-en.rttm (references for WER and DER), meeting-en.ics (the invite list,
the absent person included), voices/<Name>.flac (an enrollment clip per person,
sentences that are not in the meeting).

French (meeting-fr.*): Whisper base recognizes espeak-ng French badly, so no
audio is kept; the turns are still synthesized so that the reference
transcript meeting-fr.transcript.json gets realistic times. meeting-fr.ics too.

The expected minutes (meeting-*.expected.json) are written by hand from the
scripts; they are not generated here. Needs espeak-ng and sox (scripts/install-system.sh).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from voicebot import schema  # noqa: E402  (the repository's own contracts)

RATE = 16000
PAUSE_SAME = 0.45  # seconds of silence between two turns of one speaker
PAUSE_CHANGE = 0.7  # ... and when the speaker changes
LEAD = 0.5  # silence at the start and the end of the meeting
TIMEZONE = ZoneInfo("Europe/Paris")

_HEADER = re.compile(r"^#\s*(title|date|time|language|organizer|attendee|absent|voice \w+|enroll \w+):\s*(.+)$")
_PERSON = re.compile(r"^(.+?)\s*<([^>]+)>$")


@dataclass
class Voice:
    name: str  # espeak-ng voice, e.g. en-us+f2
    pitch: int = 50
    speed: int = 160


@dataclass
class Script:
    stem: str
    title: str
    date: str
    time: str
    language: str
    organizer: tuple[str, str]
    attendees: list[tuple[str, str]] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    voices: dict[str, Voice] = field(default_factory=dict)
    enroll: dict[str, str] = field(default_factory=dict)
    turns: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text)


def read_script(path: Path) -> Script:
    meta: dict[str, list[str]] = {}
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _HEADER.match(line)
            if match:
                meta.setdefault(match.group(1), []).append(match.group(2).strip())
            continue
        speaker, _, text = line.partition(":")
        if not text.strip():
            raise SystemExit(f"{path}: a turn must read 'Name: text', got {line!r}")
        turns.append((speaker.strip(), text.strip()))

    def person(text: str) -> tuple[str, str]:
        match = _PERSON.match(text)
        if not match:
            raise SystemExit(f"{path}: expected 'Name <email>', got {text!r}")
        return match.group(1), match.group(2)

    voices, enroll = {}, {}
    for key, values in meta.items():
        if key.startswith("voice "):
            parts = values[0].split()
            options = dict(p.split("=", 1) for p in parts[1:])
            voices[key[6:]] = Voice(parts[0], int(options.get("pitch", 50)), int(options.get("speed", 160)))
        elif key.startswith("enroll "):
            enroll[key[7:]] = values[0]
    return Script(
        stem=path.stem, title=meta["title"][0], date=meta["date"][0], time=meta["time"][0],
        language=meta["language"][0], organizer=person(meta["organizer"][0]),
        attendees=[person(a) for a in meta.get("attendee", [])], absent=meta.get("absent", []),
        voices=voices, enroll=enroll, turns=turns,
    )


def speak(text: str, voice: Voice, workdir: Path) -> np.ndarray:
    """espeak-ng -> sox (16 kHz mono) -> float32 samples, silence trimmed at both ends."""
    raw, wav = workdir / "raw.wav", workdir / "16k.wav"
    subprocess.run(["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.speed),
                    "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(wav)], check=True)
    audio, rate = sf.read(wav, dtype="float32")
    assert rate == RATE
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return audio[loud[0]: loud[-1] + 1] if loud.size else audio[:0]


def synthesize(script: Script, workdir: Path) -> tuple[np.ndarray, list[schema.Segment]]:
    pieces: list[np.ndarray] = [np.zeros(int(LEAD * RATE), np.float32)]
    segments = []
    cursor = LEAD
    previous = None
    for speaker, text in script.turns:
        if previous is not None:
            pause = PAUSE_SAME if speaker == previous else PAUSE_CHANGE
            pieces.append(np.zeros(int(pause * RATE), np.float32))
            cursor += int(pause * RATE) / RATE
        audio = speak(text, script.voices[speaker], workdir)
        pieces.append(audio)
        segments.append(schema.Segment(start=round(cursor, 3), end=round(cursor + len(audio) / RATE, 3),
                                       text=text, speaker=speaker, language=script.language))
        cursor += len(audio) / RATE
        previous = speaker
    pieces.append(np.zeros(int(LEAD * RATE), np.float32))
    return np.concatenate(pieces), segments


def transcript(script: Script, segments: list[schema.Segment], duration: float) -> schema.Transcript:
    return schema.Transcript(language=script.language, duration=round(duration, 3), model="reference",
                             engine="script", segments=segments, title=script.title, date=script.date)


def stm(stem: str, segments: list[schema.Segment]) -> str:
    return "".join(f"{stem} 1 {s.speaker} {s.start:.3f} {s.end:.3f} {s.text}\n" for s in segments)


def ics(script: Script, duration: float) -> str:
    start = datetime.fromisoformat(f"{script.date}T{script.time}").replace(tzinfo=TIMEZONE)
    utc = start.astimezone(timezone.utc)
    end = utc + timedelta(minutes=30)
    name, email = script.organizer
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//voicebot//sample meeting//EN", "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:{script.stem}-{script.date}@example.org",
        f"DTSTAMP:{(utc - timedelta(days=7)):%Y%m%dT%H%M%SZ}",
        f"DTSTART:{utc:%Y%m%dT%H%M%SZ}",
        f"DTEND:{end:%Y%m%dT%H%M%SZ}",
        f"SUMMARY:{script.title}",
        f"ORGANIZER;CN={name}:mailto:{email}",
        f"ATTENDEE;CN={name};ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:{email}",
    ]
    for attendee, address in script.attendees:
        lines.append(f"ATTENDEE;CN={attendee};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:{address}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def write_flac(path: Path, audio: np.ndarray) -> None:
    sf.write(path, audio, RATE, subtype="PCM_16", format="FLAC")


def build(script_path: Path, *, keep_audio: bool) -> None:
    script = read_script(script_path)
    with tempfile.TemporaryDirectory() as tmp:
        audio, segments = synthesize(script, Path(tmp))
        duration = len(audio) / RATE
        stem = HERE / script.stem
        text = transcript(script, segments, duration)
        Path(f"{stem}.transcript.json").write_text(schema.dumps(text), encoding="utf-8")
        Path(f"{stem}.ics").write_text(ics(script, duration), encoding="utf-8", newline="")
        print(f"{script.stem}: {len(segments)} turns, {duration:.1f} s")
        if not keep_audio:
            return
        write_flac(Path(f"{stem}.flac"), audio)
        Path(f"{stem}.stm").write_text(stm(script.stem, segments), encoding="utf-8")
        turns = [schema.Turn(s.start, s.end, s.speaker) for s in segments]
        Path(f"{stem}.rttm").write_text(schema.turns_to_rttm(turns, script.stem), encoding="utf-8")
        (HERE / "voices").mkdir(exist_ok=True)
        for name, sentence in script.enroll.items():
            clip = speak(sentence, script.voices[name], Path(tmp))
            pad = np.zeros(int(0.3 * RATE), np.float32)
            write_flac(HERE / "voices" / f"{name}.flac", np.concatenate([pad, clip, pad]))
            print(f"  voices/{name}.flac: {(len(clip) + 2 * len(pad)) / RATE:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-audio", action="store_true", help="write the text files only")
    args = parser.parse_args()
    build(HERE / "meeting-en.txt", keep_audio=not args.no_audio)
    if (HERE / "meeting-fr.txt").is_file():
        build(HERE / "meeting-fr.txt", keep_audio=False)


if __name__ == "__main__":
    main()
