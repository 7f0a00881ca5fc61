"""Voiceprints and names: who, among the people we know, is each speaker.

A voiceprint is the mean CAM++ vector (192 float32, unit length) over the
speech of a clip (silence cut out by the VAD, 1.5 s windows end to end). A
speaker's voice in a meeting is computed the same way over that speaker's
turns (overlapped speech left out; at most ``MAX_VOICE_SECONDS`` of it, spread
over the meeting). Names are given by cosine similarity, each person at most
once (Hungarian assignment on the margin over the threshold), and only above
the threshold; the rest are "Speaker 1", "Speaker 2"... in order of first
appearance.

Voiceprints enrolled before CAM++ are Resemblyzer d-vectors (256 floats).
They keep working, compared with the speaker's Resemblyzer voice under their
own threshold, until ``upgrade_voiceprints`` replaces them (``voicebot voices
upgrade``: from the clip kept with ``--keep-audio``, or from the meeting they
were enrolled from; the others must be recorded again).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from voicebot.errors import UserError
from voicebot.schema import Naming, Transcript, Turn

ENCODER = "campplus"  # the encoder of new voiceprints
# Cosine between a voiceprint and a speaker's voice above which they are the same person, per
# encoder. Calibrated on the corpus: every reference speaker with at least 6 s of solo speech, split in
# two halves (enrolment / meeting), same-speaker pairs vs every other pairing (other corpus speakers and
# espeak-ng voices). CAM++: the 6 same-person pairs score 0.81-0.93, the closest different people
# (two voices of one telephone line) 0.73, so 0.77 sits in the middle of the gap. Resemblyzer (kept for
# the voiceprints enrolled before): same 0.82-0.93, different up to 0.84, hence its 0.85, which passes
# 5 of 6.
THRESHOLDS = {"campplus": 0.77, "resemblyzer": 0.85}
MATCH_THRESHOLD = THRESHOLDS[ENCODER]
ENCODER_OF_DIM = {192: "campplus", 256: "resemblyzer"}
MIN_ENROLL_SECONDS = 2.0  # less speech than this makes an unreliable voiceprint
MAX_VOICE_SECONDS = 120.0  # of a speaker's speech in a meeting, evenly spread, make their voice


def _spread(mask: np.ndarray, piece: int, seconds: float) -> np.ndarray:
    """At most ``seconds`` of the frames of ``mask``, in pieces of ``piece`` speech frames evenly spread."""
    from voicebot.diarize.builtin import FRAME

    frames = np.flatnonzero(mask)
    pieces = len(frames) // piece
    keep = int(seconds / FRAME) // piece
    if pieces <= keep:
        return mask
    chosen = np.linspace(0, pieces - 1, keep).round().astype(int)
    out = np.zeros_like(mask)
    out[frames[(chosen[:, None] * piece + np.arange(piece)).reshape(-1)]] = True
    return out


def _speech_embedding(source, mask: np.ndarray, encoder: str = ENCODER,
                      max_seconds: float | None = None) -> tuple[np.ndarray | None, float]:
    """Mean vector of ``encoder`` over the frames of ``mask`` (unit length), and the seconds of speech used.

    Resemblyzer's windows slide every 0.25 s (as it was calibrated); CAM++'s are laid end to end (it is
    30 times slower, and pooling over 1.5 s needs no overlap)."""
    from dataclasses import replace

    from voicebot.diarize import builtin
    from voicebot.diarize.encoders import get_encoder

    model = get_encoder(encoder)
    p = builtin.Params(encoder=encoder)
    if encoder != "resemblyzer":
        p = replace(p, step=model.window_frames)
    seconds = float(mask.sum()) * builtin.FRAME
    if seconds < p.min_total_speech:
        return None, seconds
    if max_seconds:
        mask = _spread(mask, model.window_frames, max_seconds)
    emb, _ = builtin.embed_speech(source, mask, p, model)
    if not len(emb):
        return None, seconds
    mean = emb.mean(0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32), seconds


def voiceprint(audio: str | Path | np.ndarray, min_seconds: float = MIN_ENROLL_SECONDS,
               encoder: str = ENCODER) -> np.ndarray:
    """The voiceprint of a clip of one person speaking; UserError if it holds too little speech."""
    from voicebot.diarize import builtin
    from voicebot.diarize.stream import AudioSource

    source = AudioSource(audio)
    probs = builtin.vad_probabilities(source)
    n_frames = int(np.ceil(len(probs) * builtin.VAD_CHUNK / builtin.HOP))
    mask = builtin.speech_mask(probs, n_frames, builtin.Params())
    vector, seconds = _speech_embedding(source, mask, encoder)
    if vector is None or seconds < min_seconds:
        raise UserError(f"{audio if not isinstance(audio, np.ndarray) else 'the clip'} holds "
                        f"{seconds:.1f} s of speech; a voiceprint needs at least {min_seconds:.0f} s "
                        "of one person speaking (10-30 s is best)")
    return vector


def encoder_of(voiceprint: Any) -> str | None:
    """The encoder a stored voiceprint was made with (by its length), None if unknown."""
    return ENCODER_OF_DIM.get(int(np.asarray(voiceprint).size))


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


def speaker_voices(audio: str | Path | np.ndarray, turns: list[Turn], encoder: str = ENCODER,
                   only: set[str] | None = None) -> dict[str, np.ndarray]:
    """Each speaker label's voice (mean vector over their solo speech), or only those of ``only``;
    speakers with too little are left out."""
    from voicebot.diarize.builtin import FRAME
    from voicebot.diarize.stream import AudioSource

    if not turns:
        return {}
    source = AudioSource(audio)
    n_frames = int(np.ceil(max(t.end for t in turns) / FRAME)) + 1
    voices = {}
    for speaker, mask in _solo_masks(turns, n_frames).items():
        if only is not None and speaker not in only:
            continue
        vector, _ = _speech_embedding(source, mask, encoder, MAX_VOICE_SECONDS)
        if vector is not None:
            voices[speaker] = vector
    return voices


def _order_of_appearance(turns: list[Turn]) -> list[str]:
    return list(dict.fromkeys(t.speaker for t in sorted(turns, key=lambda t: (t.start, t.end))))


def match(voices: dict[str, dict[str, np.ndarray]], candidates: list[dict],
          thresholds: dict[str, float] | None = None) -> dict[str, tuple[dict, float]]:
    """label -> (candidate, score). ``voices``: per encoder, each label's voice. A candidate's voiceprint
    is compared with the voice of its own encoder; the Hungarian assignment maximises the margins over
    each encoder's threshold, and pairs below their threshold are dropped."""
    from scipy.optimize import linear_sum_assignment

    thresholds = thresholds or THRESHOLDS
    people = [c for c in candidates if c.get("voiceprint") is not None and encoder_of(c["voiceprint"]) in voices]
    labels = sorted({label for by_label in voices.values() for label in by_label})
    if not people or not labels:
        return {}
    scores = np.full((len(labels), len(people)), -np.inf)
    margins = np.full((len(labels), len(people)), -np.inf)
    for j, person in enumerate(people):
        encoder = encoder_of(person["voiceprint"])
        vector = np.asarray(person["voiceprint"], dtype=np.float32).reshape(-1)
        vector = vector / max(float(np.linalg.norm(vector)), 1e-9)
        for i, label in enumerate(labels):
            if label in voices[encoder]:
                scores[i, j] = float(voices[encoder][label] @ vector)
                margins[i, j] = scores[i, j] - thresholds[encoder]
    rows, cols = linear_sum_assignment(-np.maximum(margins, -10.0))
    return {labels[r]: (people[c], float(scores[r, c])) for r, c in zip(rows, cols) if margins[r, c] >= 0}


def name_speakers(audio: str | Path | np.ndarray, turns: list[Turn], candidates: list[dict],
                  *, threshold: float | None = None) -> Naming:
    """Match each speaker of ``turns`` to a candidate's voiceprint.

    ``candidates``: dicts with ``name``, ``email`` and ``voiceprint`` (as
    ``Archive.list_people()`` returns them; people without a voiceprint are
    never matched). ``threshold`` (when set) replaces every encoder's calibrated
    threshold. Returns a JSON-able dict::

        {"labels": {"SPEAKER_00": {"name": "Alice", "email": "a@x", "score": 0.91} | None},
         "present": ["Alice"], "unnamed": {"SPEAKER_01": "Speaker 1"}, "threshold": 0.77}
    """
    thresholds = dict(THRESHOLDS) if not threshold else {name: float(threshold) for name in THRESHOLDS}
    order = _order_of_appearance(turns)
    encoders = {encoder_of(c["voiceprint"]) for c in candidates if c.get("voiceprint") is not None} - {None}
    voices = {encoder: speaker_voices(audio, turns, encoder) for encoder in sorted(encoders)}
    matched = match(voices, candidates, thresholds) if voices else {}
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
    return {"labels": labels, "present": present, "unnamed": unnamed, "threshold": thresholds[ENCODER]}


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
                                    for t in turns], only={"me"})
    if "me" not in voices:
        raise UserError(f"{shown!r} speaks too little alone in {directory.name} to make a voiceprint")
    return voices["me"]


def upgrade_voiceprints(db, home: Path, recordings_dir: Path) -> dict[str, list[str]]:
    """Remake the voiceprints of an older encoder with the current one (``ENCODER``), from the clip kept
    under ``<home>/voices/`` (``voices enroll --keep-audio``), else from the meeting a voiceprint was
    taken from (``meetings rename-speaker --enroll``). Those with neither keep their old voiceprint, which
    still names them, and are listed to be recorded again.

    Returns {"upgraded": [...], "re-record": [...], "current": [...]} (names)."""
    from voicebot import recordings

    report: dict[str, list[str]] = {"upgraded": [], "re-record": [], "current": []}
    for person in db.list_people():
        if person.get("voiceprint") is None:
            continue
        name = person["name"]
        if encoder_of(person["voiceprint"]) == ENCODER:
            report["current"].append(name)
            continue
        slug = recordings.slugify(name, 40)
        folder = home / "voices"
        clips = sorted(folder.glob(f"{slug}.*")) if slug and folder.is_dir() else []
        source = person.get("source") or ""
        attempts = [lambda clip=clip: voiceprint(clip) for clip in clips]
        if source.startswith("meeting "):
            meeting = source.split(" ", 1)[1]
            attempts.append(lambda: speaker_voice(recordings.meeting_dir(recordings_dir, meeting), name))
        vector = None
        for attempt in attempts:
            try:
                vector = attempt()
                break
            except UserError:  # a clip with too little speech, a meeting deleted since: try the next
                continue
        if vector is None:
            report["re-record"].append(name)
            continue
        db.upsert_person(name, voiceprint=vector)
        report["upgraded"].append(name)
    return report


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
