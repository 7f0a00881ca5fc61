"""Long meetings built from real speech, with references, so WER and DER stay measurable at 1 and 2 hours.

The corpus and the sample meeting hold a few minutes of real conversation with
reference annotations. A long "meeting" lays those recordings end to end, in a
seeded random order, round after round, the way a meeting goes on:

- every source is leveled to the same speech level (-24 dBFS on its loud frames)
  and resampled to 16 kHz mono (tcof-3spk is 8 kHz stereo);
- pauses between two recordings: mostly 0.3-1.5 s, sometimes 3-8 s, and every
  ~10 minutes a long silence of 15-30 s (someone shares a screen);
- a continuous room tone (low-passed noise at -60 dBFS) is mixed under
  everything, so silence is never digital zero.

References are the sources' own, offset to where each copy sits: the RTTM of
every source that has one (speakers of the AMI excerpts keep their AMI ids,
which are real people shared across excerpts; other labels get their file's
name as prefix), the STM of every source that has one (leopard-fr has only an
STM: its turns come from it). WER is scored on the copies with an STM only
(the AMI and falcon excerpts have no transcript): the hypothesis words whose
middle falls in a copy (its pauses split half and half with its neighbours)
against that copy's reference, errors pooled over copies.

The recording is written block by block (a 2-hour meeting is never held in
memory) and cached under bench/results/long/ (rebuilt when the recipe changes).

    python -m bench.long --seconds 3600    # builds it, prints where and what
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.scoring import ROOT, corpus_dir, der, stm_rows, stm_text, wer

RECIPE = 3  # bump when the way recordings are built changes (invalidates the cache)
SAMPLE_RATE = 16000
SPEECH_LEVEL_DB = -24.0
ROOM_TONE_DB = -60.0
CACHE = ROOT / "bench" / "results" / "long"
SAMPLES = ROOT / "samples"


@dataclass
class Source:
    name: str  # file stem, unique
    audio: Path
    rttm: Path | None
    stm: Path | None
    language: str


@dataclass
class Piece:
    source: str
    start: float  # seconds in the built recording
    end: float
    gain: float


@dataclass
class Built:
    """A built recording: its files and the list of what sits where."""

    name: str
    directory: Path
    duration: float
    pieces: list[Piece]
    speakers: int

    @property
    def audio(self) -> Path:
        return self.directory / "audio.flac"

    @property
    def rttm(self) -> Path:
        return self.directory / "reference.rttm"

    @property
    def stm(self) -> Path:
        return self.directory / "reference.stm"


def sources() -> list[Source]:
    """Every corpus recording with a reference, and the sample meeting (espeak-ng voices, its own references)."""
    found = []
    for audio in sorted(corpus_dir().glob("*/*.flac")):
        rttm, stm = audio.with_suffix(".rttm"), audio.with_suffix(".stm")
        if rttm.is_file() or stm.is_file():
            found.append(Source(audio.stem, audio, rttm if rttm.is_file() else None, stm if stm.is_file() else None,
                                audio.parent.name if audio.parent.name in ("en", "fr") else "en"))
    sample = SAMPLES / "meeting-en.flac"
    found.append(Source("meeting-en", sample, sample.with_suffix(".rttm"), sample.with_suffix(".stm"), "en"))
    return found


def speaker_label(source: str, label: str) -> str:
    """AMI ids name real people across excerpts; other files' labels (spk1...) only mean something inside the file."""
    return label if source.startswith("ami-") else f"{source}:{label}"


def _reference_turns(source: Source) -> list[tuple[float, float, str]]:
    from voicebot.schema import turns_from_rttm

    if source.rttm:
        return [(t.start, t.end, t.speaker) for t in turns_from_rttm(source.rttm.read_text(encoding="utf-8"))]
    return [(start, end, speaker) for start, end, speaker, _ in _stm_lines(source)]


def _stm_lines(source: Source) -> list[tuple[float, float, str, str]]:
    return stm_rows(source.stm) if source.stm else []


def _speech_gain(audio: np.ndarray) -> float:
    """The gain that brings the loud frames (80th percentile of 20 ms RMS) to the common speech level."""
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    level = float(np.percentile(np.sqrt(np.mean(frames ** 2, axis=1)), 80)) if len(frames) else 0.0
    if level <= 0:
        return 1.0
    return float(np.clip(10 ** (SPEECH_LEVEL_DB / 20) / level, 0.3, 6.0))


def _pause(rng: np.random.Generator) -> float:
    return float(rng.uniform(3.0, 8.0) if rng.random() < 0.1 else rng.uniform(0.3, 1.5))


def _plan(seconds: float, lengths: dict[str, float], seed: int) -> list[tuple[str | None, float]]:
    """(source name, seconds) for each copy, (None, seconds) for each pause, until ``seconds`` are filled.

    Rounds of every source in a new random order; a copy that would overshoot the target by more than
    20 s is skipped, so the result lands within a few seconds of it."""
    rng = np.random.default_rng(seed)
    plan: list[tuple[str | None, float]] = []
    total, since_break = 0.0, 0.0
    names = sorted(lengths)
    while True:
        placed = False
        for name in rng.permutation(names):
            if total + lengths[name] > seconds + 20.0:
                continue
            pause = _pause(rng)
            if since_break > 600.0:
                pause, since_break = float(rng.uniform(15.0, 30.0)), 0.0
            if plan:
                plan.append((None, pause))
                total += pause
                since_break += pause
            plan.append((str(name), lengths[name]))
            total += lengths[name]
            since_break += lengths[name]
            placed = True
            if total >= seconds - 10.0:
                plan.append((None, 1.0))
                return plan
        if not placed:  # nothing fits any more
            plan.append((None, max(seconds - total, 1.0)))
            return plan


def _room_tone(rng: np.random.Generator, n: int, state: list[float]) -> np.ndarray:
    """Low-passed white noise at ROOM_TONE_DB RMS; ``state`` carries the filter across blocks."""
    from scipy.signal import lfilter

    alpha = 0.9
    white = rng.standard_normal(n).astype(np.float32)
    out, zf = lfilter([1 - alpha], [1, -alpha], white, zi=[state[0]])
    state[0] = float(zf[0])
    # the filter's output RMS is sqrt((1-a)/(1+a)) of its input's
    return (out * (10 ** (ROOM_TONE_DB / 20) / np.sqrt((1 - alpha) / (1 + alpha)))).astype(np.float32)


def _fingerprint(catalog) -> str:
    """What the sources are (names, audio sizes, references): a cached recording built from other
    sources (e.g. before samples/make_sample.py changed the sample's voices) is rebuilt."""
    import hashlib

    digest = hashlib.sha256()
    for source in sorted(catalog, key=lambda s: s.name):
        digest.update(f"{source.name}\0{source.audio.stat().st_size}\0".encode())
        for reference in (source.rttm, source.stm):
            digest.update(reference.read_bytes() if reference else b"-")
    return digest.hexdigest()[:16]


def build(seconds: float, *, seed: int = 12, cache: Path = CACHE) -> Built:
    """The recording of about ``seconds``, built once and cached (audio.flac, reference.rttm/.stm, pieces.json),
    rebuilt when the recipe or the sources change."""
    import soundfile as sf

    from voicebot.audio import load_audio
    from voicebot.fsutil import atomic_write

    name = f"meeting-{int(seconds)}s-seed{seed}"
    directory = cache / name
    manifest = directory / "pieces.json"
    catalog = {s.name: s for s in sources()}
    fingerprint = _fingerprint(catalog.values())
    if manifest.is_file() and (directory / "audio.flac").is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data.get("recipe") == RECIPE and data.get("sources") == fingerprint:
            return Built(name, directory, data["duration"], [Piece(**p) for p in data["pieces"]], data["speakers"])
    directory.mkdir(parents=True, exist_ok=True)
    audio = {n: load_audio(s.audio) for n, s in catalog.items()}
    gains = {n: _speech_gain(a) for n, a in audio.items()}
    plan = _plan(seconds, {n: len(a) / SAMPLE_RATE for n, a in audio.items()}, seed)

    noise_rng, state = np.random.default_rng(seed + 1), [0.0]
    pieces: list[Piece] = []
    rttm_lines, stm_lines = [], []
    position = 0  # samples written
    tmp = directory / ".audio.flac.tmp"
    with sf.SoundFile(str(tmp), "w", SAMPLE_RATE, 1, "PCM_16", format="FLAC") as out:
        for source, length in plan:
            if source is None:
                block = np.zeros(int(round(length * SAMPLE_RATE)), dtype=np.float32)
            else:
                block = audio[source] * gains[source]
                start = position / SAMPLE_RATE
                pieces.append(Piece(source, round(start, 3), round(start + len(block) / SAMPLE_RATE, 3),
                                    round(gains[source], 4)))
                for a, b, speaker in _reference_turns(catalog[source]):
                    b = min(b, len(block) / SAMPLE_RATE)
                    if b > a:
                        rttm_lines.append(f"SPEAKER {name} 1 {start + a:.3f} {b - a:.3f} <NA> <NA> "
                                          f"{speaker_label(source, speaker)} <NA> <NA>")
                for a, b, speaker, text in _stm_lines(catalog[source]):
                    stm_lines.append(f"{name} 1 {speaker_label(source, speaker)} {start + a:.3f} {start + b:.3f} "
                                     f"{text}")
            mixed = np.clip(block + _room_tone(noise_rng, len(block), state), -0.99, 0.99)
            out.write(mixed)
            position += len(block)
    tmp.replace(directory / "audio.flac")
    atomic_write(directory / "reference.rttm", "\n".join(rttm_lines) + "\n")
    atomic_write(directory / "reference.stm", "\n".join(stm_lines) + "\n")
    speakers = len({line.split()[7] for line in rttm_lines})
    built = Built(name, directory, round(position / SAMPLE_RATE, 3), pieces, speakers)
    atomic_write(manifest, json.dumps({"recipe": RECIPE, "sources": fingerprint, "seed": seed,
                                       "target_seconds": seconds, "duration": built.duration, "speakers": speakers,
                                       "pieces": [asdict(p) for p in pieces]}, indent=1, ensure_ascii=False))
    return built


# --- scoring a transcript and a diarization of a built recording ----------------------------------------


def score_words(built: Built, transcript) -> dict:
    """WER over the copies that have an STM (see the module doc); per source and pooled."""
    catalog = {s.name: s for s in sources()}
    words = [(w.start + w.end) / 2 for seg in transcript.segments for w in (seg.words or [])]
    texts = [w.word for seg in transcript.segments for w in (seg.words or [])]
    if not words:  # an engine without word times: segment middles
        words = [(s.start + s.end) / 2 for s in transcript.segments]
        texts = [s.text for s in transcript.segments]
    order = np.argsort(words, kind="stable")
    middles = np.asarray(words)[order]
    texts = [texts[i] for i in order]
    per_source: dict[str, dict] = {}
    for i, piece in enumerate(built.pieces):
        source = catalog[piece.source]
        if source.stm is None:
            continue
        lo = (built.pieces[i - 1].end + piece.start) / 2 if i else 0.0
        hi = (piece.end + built.pieces[i + 1].start) / 2 if i + 1 < len(built.pieces) else built.duration + 1
        a, b = np.searchsorted(middles, lo), np.searchsorted(middles, hi)
        hypothesis = " ".join(t.strip() for t in texts[a:b])
        result = wer(stm_text(source.stm), hypothesis)
        row = per_source.setdefault(piece.source, {"copies": 0, "errors": 0, "words": 0})
        row["copies"] += 1
        row["errors"] += result["errors"]
        row["words"] += result["words"]
    for row in per_source.values():
        row["wer"] = round(row["errors"] / row["words"], 4) if row["words"] else None
    errors, total = sum(r["errors"] for r in per_source.values()), sum(r["words"] for r in per_source.values())
    return {"wer": round(errors / total, 4) if total else None, "errors": errors, "words": total,
            "per_source": per_source}


def score_turns(built: Built, turns) -> dict:
    """DER full and forgiving against the built RTTM, and the speaker counts."""
    result = der(built.rttm, turns, uri=built.name)
    return {"der_full": round(100 * result["full"], 1), "der_forgiving": round(100 * result["forgiving"], 1),
            "speakers_ref": result["ref_speakers"], "speakers_found": result["hyp_speakers"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600.0, help="length of the meeting to build")
    parser.add_argument("--seed", type=int, default=12, help="the order and pauses (same seed, same recording)")
    args = parser.parse_args()
    built = build(args.seconds, seed=args.seed)
    counts: dict[str, int] = {}
    for piece in built.pieces:
        counts[piece.source] = counts.get(piece.source, 0) + 1
    print(f"{built.audio}: {built.duration / 60:.1f} min, {len(built.pieces)} copies of {len(counts)} recordings, "
          f"{built.speakers} speakers in the reference")
    for source, count in sorted(counts.items()):
        print(f"  {source}: {count}x")


if __name__ == "__main__":
    main()
