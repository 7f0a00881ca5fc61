"""Scoring against the corpus references, with the corpus README's conventions.

WER: lowercase, punctuation removed, ``<noise>``-style tags removed,
apostrophes split (French ``d'avoir`` -> ``d' avoir``), over the whole file.
DER "full": no collar, overlap scored; "forgiving": 0.25 s collar, overlap
not scored (pyannote.metrics).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    for candidate in (os.environ.get("VOICEBOT_CORPUS", ""), ROOT.parent / "shared" / "corpus", "/work/shared/corpus"):
        if candidate and (Path(candidate) / "README.md").is_file():
            return Path(candidate)
    raise SystemExit("the evaluation corpus is missing: set VOICEBOT_CORPUS to the shared/corpus folder")


def normalize(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"<[^>]*>|\[[^\]]*\]", " ", text)
    text = re.sub(r"(\w)'", r"\1' ", text)
    text = re.sub(r"[^\w' ]+", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\s)", " ", text)  # stray quotes, keep d' l' j'
    return " ".join(text.split())


def stm_rows(path: Path) -> list[tuple[float, float, str, str]]:
    """(start, end, speaker, text) of each line of an .stm file, in time order."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and not line.startswith(";;"):
            rows.append((float(parts[3]), float(parts[4]), parts[2], parts[5]))
    return sorted(rows)


def stm_text(path: Path) -> str:
    """The reference words of an .stm file, in time order."""
    return " ".join(text for _, _, _, text in stm_rows(path))


def wer(reference: str, hypothesis: str) -> dict:
    """Word error rate with its counts (so totals over files are exact)."""
    import jiwer

    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return {"wer": float(bool(hyp)), "errors": len(hyp.split()), "words": 0}
    out = jiwer.process_words(ref, hyp)
    errors = out.substitutions + out.deletions + out.insertions
    return {"wer": errors / len(ref.split()), "errors": errors, "words": len(ref.split())}


def der(reference_rttm: Path, turns, uri: str = "audio") -> dict:
    """DER full and forgiving of ``turns`` (schema.Turn list) against an RTTM file."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    from voicebot.schema import turns_from_rttm

    def annotation(items) -> Annotation:
        ann = Annotation(uri=uri)
        for i, turn in enumerate(items):
            ann[Segment(turn.start, turn.end), i] = turn.speaker
        return ann

    reference = annotation(turns_from_rttm(Path(reference_rttm).read_text(encoding="utf-8")))
    hypothesis = annotation(turns)
    result = {}
    for name, metric in (("full", DiarizationErrorRate(collar=0.0, skip_overlap=False)),
                         ("forgiving", DiarizationErrorRate(collar=0.25, skip_overlap=True))):
        detail = metric(reference, hypothesis, detailed=True)
        result[name] = detail["diarization error rate"]
        result[f"{name}_detail"] = {k: float(v) for k, v in detail.items()}
    result["ref_speakers"] = len(reference.labels())
    result["hyp_speakers"] = len(hypothesis.labels())
    return result
