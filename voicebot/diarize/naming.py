"""Voiceprints and names: who, among the people we know, is each speaker.

A voiceprint is the mean Resemblyzer d-vector over the speech of a clip
(silence cut out by the VAD, 1.6 s windows every 0.25 s of speech), unit
length, 256 float32. A speaker's voice in a meeting is computed the same way
over that speaker's turns (overlapped speech left out). Names are given by
cosine similarity, each person at most once (Hungarian assignment), and only
above ``MATCH_THRESHOLD``; the rest are "Speaker 1", "Speaker 2"... in order
of first appearance.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from voicebot.errors import UserError
from voicebot.schema import Naming, Transcript, Turn

# Cosine between a voiceprint and a speaker's voice above which they are the same
# person. Calibrated on the corpus: every reference speaker with enough solo speech,
# split in two halves (enrolment / meeting), same-speaker pairs vs every other
# pairing (other corpus speakers and espeak-ng voices): at 0.85, 7 of 9 same-voice pairs
# pass and no pair of different people does (the closest, two telephone voices, 0.845).
# Resemblyzer d-vectors are non-negative, so cosines of
# different people still sit around 0.6-0.8.
MATCH_THRESHOLD = 0.85
MIN_ENROLL_SECONDS = 2.0  # less speech than this makes an unreliable voiceprint


def _speech_embedding(source, mask: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Mean d-vector over the frames of ``mask`` (unit length), and the seconds of speech used."""
    from voicebot.diarize import builtin
    from voicebot.diarize.encoders import get_encoder

    p = builtin.Params()
    seconds = float(mask.sum()) * builtin.FRAME
    if seconds < p.min_total_speech:
        return None, seconds
    emb, _ = builtin.embed_speech(source, mask, p, get_encoder(p.encoder))
    if not len(emb):
        return None, seconds
    mean = emb.mean(0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32), seconds


def voiceprint(audio: str | Path | np.ndarray, min_seconds: float = MIN_ENROLL_SECONDS) -> np.ndarray:
    """The voiceprint of a clip of one person speaking; UserError if it holds too little speech."""
    from voicebot.diarize import builtin
    from voicebot.diarize.stream import AudioSource

    source = AudioSource(audio)
    probs = builtin.vad_probabilities(source)
    n_frames = int(np.ceil(len(probs) * builtin.VAD_CHUNK / builtin.HOP))
    mask = builtin.speech_mask(probs, n_frames, builtin.Params())
    vector, seconds = _speech_embedding(source, mask)
    if vector is None or seconds < min_seconds:
        raise UserError(f"{audio if not isinstance(audio, np.ndarray) else 'the clip'} holds "
                        f"{seconds:.1f} s of speech; a voiceprint needs at least {min_seconds:.0f} s "
                        "of one person speaking (10-30 s is best)")
    return vector


def _solo_masks(turns: list[Turn], n_frames: int) -> dict[str, np.ndarray]:
    """Per speaker, the 10 ms frames where they (and nobody else) speak."""
    from voicebot.diarize.builtin import FRAME

    count = np.zeros(n_frames, dtype=np.int16)
    spans: dict[str, list[tuple[int, int]]] = {}
    for turn in turns:
        a, b = int(turn.start / FRAME), min(int(np.ceil(turn.end / FRAME)), n_frames)
        if b > a:
            count[a:b] += 1
            spans.setdefault(turn.speaker, []).append((a, b))
    masks = {}
    for speaker, ranges in spans.items():
        mask = np.zeros(n_frames, dtype=bool)
        for a, b in ranges:
            mask[a:b] = True
        masks[speaker] = mask & (count == 1)
    return masks


def speaker_voices(audio: str | Path | np.ndarray, turns: list[Turn]) -> dict[str, np.ndarray]:
    """Each speaker label's voice (mean d-vector over their solo speech); speakers with too little are left out."""
    from voicebot.diarize.builtin import FRAME
    from voicebot.diarize.stream import AudioSource

    if not turns:
        return {}
    source = AudioSource(audio)
    n_frames = int(np.ceil(max(t.end for t in turns) / FRAME)) + 1
    voices = {}
    for speaker, mask in _solo_masks(turns, n_frames).items():
        vector, _ = _speech_embedding(source, mask)
        if vector is not None:
            voices[speaker] = vector
    return voices


def _order_of_appearance(turns: list[Turn]) -> list[str]:
    return list(dict.fromkeys(t.speaker for t in sorted(turns, key=lambda t: (t.start, t.end))))


def match(voices: dict[str, np.ndarray], candidates: list[dict], threshold: float = MATCH_THRESHOLD
          ) -> dict[str, tuple[dict, float]]:
    """label -> (candidate, score): Hungarian assignment on cosine, pairs below ``threshold`` dropped."""
    from scipy.optimize import linear_sum_assignment

    people = [c for c in candidates if c.get("voiceprint") is not None]
    labels = list(voices)
    if not people or not labels:
        return {}
    prints = np.stack([np.asarray(c["voiceprint"], dtype=np.float32).reshape(-1) for c in people])
    prints /= np.maximum(np.linalg.norm(prints, axis=1, keepdims=True), 1e-9)
    scores = np.stack([voices[label] for label in labels]) @ prints.T
    rows, cols = linear_sum_assignment(-scores)
    return {labels[r]: (people[c], float(scores[r, c])) for r, c in zip(rows, cols)
            if scores[r, c] >= threshold}


def name_speakers(audio: str | Path | np.ndarray, turns: list[Turn], candidates: list[dict],
                  *, threshold: float | None = None) -> Naming:
    """Match each speaker of ``turns`` to a candidate's voiceprint.

    ``candidates``: dicts with ``name``, ``email`` and ``voiceprint`` (as
    ``Archive.list_people()`` returns them; people without a voiceprint are
    never matched). Returns a JSON-able dict::

        {"labels": {"SPEAKER_00": {"name": "Alice", "email": "a@x", "score": 0.91} | None},
         "present": ["Alice"], "unnamed": {"SPEAKER_01": "Speaker 1"}, "threshold": 0.86}
    """
    threshold = MATCH_THRESHOLD if not threshold else float(threshold)
    order = _order_of_appearance(turns)
    matched = match(speaker_voices(audio, turns), candidates, threshold) if candidates else {}
    labels: dict[str, dict | None] = {}
    unnamed: dict[str, str] = {}
    for label in order:
        if label in matched:
            person, score = matched[label]
            labels[label] = {"name": person["name"], "email": person.get("email"), "score": round(score, 4)}
        else:
            labels[label] = None
            unnamed[label] = f"Speaker {len(unnamed) + 1}"
    present = [labels[label]["name"] for label in order if labels[label]]
    return {"labels": labels, "present": present, "unnamed": unnamed, "threshold": threshold}


def display_name(naming: Naming, label: str | None) -> str | None:
    """The name a speaker label shows under: the person's, else "Speaker N", else the label."""
    if label is None:
        return None
    person = naming.get("labels", {}).get(label)
    if person:
        return person["name"]
    return naming.get("unnamed", {}).get(label, label)


def relabel(transcript: Transcript, naming: Naming) -> Transcript:
    """A copy of ``transcript`` whose speaker labels are replaced by names (or "Speaker N")."""
    out = copy.deepcopy(transcript)
    for seg in out.segments:
        seg.speaker = display_name(naming, seg.speaker)
    return out


# --- renaming after the fact ------------------------------------------------------


def labels_shown_as(naming: Naming, shown: str) -> list[str]:
    """The diarization labels displayed as ``shown`` (a person's name, "Speaker N" or a raw label)."""
    labels = list(naming.get("labels", {})) or []
    found = [label for label in labels if display_name(naming, label) == shown]
    return found or ([shown] if shown in labels or not labels else [])


def _naming_of(directory: Path) -> dict[str, Any]:
    from voicebot import recordings
    from voicebot.schema import read_json

    path = directory / recordings.SPEAKERS
    return read_json(path) if path.is_file() else {}


def speaker_voice(directory: Path, shown: str) -> np.ndarray:
    """The voice of the speaker shown as ``shown`` in a meeting folder (audio + rttm + speakers.json)."""
    from voicebot import recordings
    from voicebot.schema import turns_from_rttm

    audio, rttm = directory / recordings.AUDIO, directory / recordings.DIARIZATION
    if not audio.is_file() or not rttm.is_file():
        raise UserError(f"cannot enroll from {directory.name}: it needs {recordings.AUDIO} and "
                        f"{recordings.DIARIZATION} (run the diarization first)")
    wanted = set(labels_shown_as(_naming_of(directory), shown))
    turns = [t for t in turns_from_rttm(rttm.read_text(encoding="utf-8"))]
    mine = [t for t in turns if t.speaker in wanted]
    if not mine:
        raise UserError(f"no speaker {shown!r} in {directory.name}; the transcript shows who spoke")
    voices = speaker_voices(audio, [Turn(t.start, t.end, "me" if t.speaker in wanted else t.speaker)
                                    for t in turns])
    if "me" not in voices:
        raise UserError(f"{shown!r} speaks too little alone in {directory.name} to make a voiceprint")
    return voices["me"]


def rename_in_files(directory: Path, old: str, new: str) -> list[str]:
    """Rename a speaker in a meeting folder's transcript.json and speakers.json; the files changed."""
    from voicebot import recordings
    from voicebot.fsutil import atomic_write
    from voicebot.invites import same_name
    from voicebot.schema import dumps, read_json

    new = " ".join((new or "").split())
    if not new:
        raise UserError("the new speaker name is empty")
    changed = []
    path = directory / recordings.TRANSCRIPT
    if path.is_file():
        transcript = Transcript.from_dict(read_json(path))
        hits = [seg for seg in transcript.segments if seg.speaker == old]
        for seg in hits:
            seg.speaker = new
        if hits:
            atomic_write(path, dumps(transcript))
            changed.append(path.name)
    naming = _naming_of(directory)
    labels = [label for label in labels_shown_as(naming, old) if label in naming.get("labels", {})]
    if labels:
        for label in labels:
            naming["labels"][label] = {"name": new, "email": None, "score": None, "confidence": 1.0,
                                       "reason": "renamed by a person", "source": "confirmed"}
            naming.get("unnamed", {}).pop(label, None)
        naming["present"] = list(dict.fromkeys([*naming.get("present", []), new]))
        if old in naming["present"]:
            naming["present"].remove(old)
        for key in ("absent", "unknown"):  # a voice is theirs now: present, not absent or unknown
            if key in naming:
                naming[key] = [name for name in naming[key] if not same_name(name, new)]
        atomic_write(directory / recordings.SPEAKERS, dumps(naming))
        changed.append(recordings.SPEAKERS)
    return changed
