"""Minutes: precision and recall of the decisions and action items on the sample meetings,
and the time to draft the minutes of a 1-hour meeting.

Inputs: the sample meetings (samples/meeting-{en,fr}.transcript.json with their .ics and
expected minutes), the same without punctuation (as some ASR output comes), and, in full
mode, the English sample audio through Whisper base when that model is installed. For the
time: a 1-hour transcript (quick: 10 minutes) made of the two samples' sentences, French
and English alternating, speakers and times kept.

Ours: voicebot.minutes.draft, extractive engine. Peer: a keyword spotter, what a simple
minute-taker does: a sentence with "decided/agreed/décidé..." is a decision, one with
"will/can you/need to/je vais/il faut..." an action item owned by its speaker, its due date
the first date dateparser's search_dates finds in it (RELATIVE_BASE = meeting date).
A drafted item matches an expected one as voicebot.minutes.score says (span overlap, owner
and due date equal for actions, shared words for decisions). Figures only.

    python -m bench.minutes [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from datetime import datetime
from pathlib import Path

from voicebot import schema
from voicebot.config import Settings, load_settings
from voicebot.invites import read_ics
from voicebot.minutes import draft
from voicebot.minutes.people import gather
from voicebot.minutes.score import label_from_reference, score
from voicebot.minutes.text import fold, sentences

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

DEFAULT_ENGINES = ("extractive",)
ENGINES_ENV = "BENCH_MINUTES_ENGINES"  # what `python -m bench` runs the minutes benchmarks with


def parse_engines(text: str) -> list[str]:
    """'extractive, llama' -> ['extractive', 'llama'] (names as voicebot.minutes.draft takes them)."""
    names = list(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    if not names:
        raise argparse.ArgumentTypeError("give at least one engine, e.g. extractive,llama")
    return names


def engines_from(env=os.environ) -> list[str]:
    """The engines to run: $BENCH_MINUTES_ENGINES, else the extractive one."""
    return parse_engines(env.get(ENGINES_ENV) or ",".join(DEFAULT_ENGINES))


_PEER_DECISION = ("decided", "agreed", "decision", "decide", "d'accord", "valide")
_PEER_ACTION = ("will ", "'ll ", "can you", "could you", "need to", "needs to", "tu peux", "je vais", "il faut",
                "je m'en occupe", "i'll", "je vais")


def _sample(lang: str) -> tuple[schema.Transcript, schema.Meeting, schema.Minutes]:
    transcript = schema.Transcript.from_dict(schema.read_json(SAMPLES / f"meeting-{lang}.transcript.json"))
    invitation = read_ics(SAMPLES / f"meeting-{lang}.ics")
    meeting = schema.Meeting(id=f"sample-{lang}", title=invitation.title or "", started_at=invitation.start.isoformat(),
                             invitees=invitation.people)
    expected = schema.Minutes.from_dict(schema.read_json(SAMPLES / f"meeting-{lang}.expected.json"))
    return transcript, meeting, expected


def peer(transcript: schema.Transcript, meeting: schema.Meeting) -> schema.Minutes:
    """The keyword spotter (see the module doc)."""
    from dateparser.search import search_dates

    base = datetime.fromisoformat(transcript.date or meeting.started_at[:10])
    people = gather(transcript, meeting, None)
    minutes = schema.Minutes(title=transcript.title or "", date=base.date().isoformat(), duration=transcript.duration,
                             language=transcript.language)
    for s in sentences(transcript, people.name_of):
        text = fold(s.text)
        if any(k in text for k in _PEER_DECISION):
            minutes.decisions.append(schema.Decision(s.text, s.start, s.end, s.speaker))
        elif any(k in text for k in _PEER_ACTION):
            found = search_dates(s.text, languages=["en", "fr"],
                                 settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"}) or []
            due = found[0][1].date().isoformat() if found else None
            minutes.action_items.append(schema.ActionItem(s.speaker, s.text, due, s.start, s.end))
    return minutes


def _without_punctuation(transcript: schema.Transcript) -> schema.Transcript:
    copy = schema.Transcript.from_dict(transcript.to_dict())
    for seg in copy.segments:
        seg.text = re.sub(r"[.,?!;:]", "", seg.text)
    return copy


def _audio_transcript(settings: Settings, expected: schema.Minutes) -> schema.Transcript | None:
    """The English sample through Whisper base, speakers from the reference RTTM; None without the model."""
    try:
        from voicebot.asr import transcribe

        transcript = transcribe(SAMPLES / "meeting-en.flac", settings, language="en")
    except Exception as exc:  # noqa: BLE001 (a bench reports what it could not run)
        print(f"audio path not run: {exc}")
        return None
    label_from_reference(transcript, schema.turns_from_rttm((SAMPLES / "meeting-en.rttm").read_text()))
    transcript.date = expected.date
    return transcript


def long_transcript(seconds: float) -> schema.Transcript:
    """The samples' turns over and over (English and French alternating) until ``seconds``."""
    parts = [_sample("en")[0], _sample("fr")[0]]
    segments, offset, k = [], 0.0, 0
    while offset < seconds:
        part = parts[k % 2]
        for seg in part.segments:
            segments.append(schema.Segment(seg.start + offset, seg.end + offset, seg.text, speaker=seg.speaker,
                                           language=seg.language))
        offset += part.duration
        k += 1
    return schema.Transcript(language="en", duration=offset, model="bench", engine="bench", segments=segments,
                             date="2026-03-12", title="Long meeting")


def run(quick: bool, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    cases = []
    for lang in ("en", "fr"):
        transcript, meeting, expected = _sample(lang)
        cases.append((f"{lang} reference", transcript, meeting, expected))
        cases.append((f"{lang} no punctuation", _without_punctuation(transcript), meeting, expected))
    if not quick:
        transcript, meeting, expected = _sample("en")
        audio = _audio_transcript(load_settings(), expected)
        if audio is not None:
            cases.append(("en audio (Whisper base)", audio, meeting, expected))
    rows = []
    totals = {"ours": [0, 0, 0], "peer": [0, 0, 0]}  # matched, drafted, expected
    for name, transcript, meeting, expected in cases:
        ours = score(draft(transcript, settings, meeting=meeting), expected)
        theirs = score(peer(transcript, meeting), expected)
        rows.append({"input": name, "ours": ours, "peer": theirs})
        for key, result in (("ours", ours), ("peer", theirs)):
            totals[key][0] += result["matched"]
            totals[key][1] += result["drafted"]
            totals[key][2] += result["expected"]
    seconds = 600.0 if quick else 3600.0
    transcript = long_transcript(seconds)
    meeting = _sample("en")[1]
    start = time.perf_counter()
    minutes = draft(transcript, settings, meeting=meeting)
    ours_time = time.perf_counter() - start
    start = time.perf_counter()
    peer(transcript, meeting)
    peer_time = time.perf_counter() - start
    timing = {"audio_seconds": round(transcript.duration, 1), "segments": len(transcript.segments),
              "words": len(transcript.text.split()), "ours_seconds": round(ours_time, 2),
              "peer_seconds": round(peer_time, 2), "decisions": len(minutes.decisions),
              "action_items": len(minutes.action_items), "key_points": len(minutes.key_points)}

    def pr(t: list[int]) -> tuple[float, float]:
        return (t[0] / t[1] if t[1] else 1.0, t[0] / t[2] if t[2] else 1.0)

    lines = ["| input | ours P | ours R | peer P | peer R |", "|---|---|---|---|---|"]
    for row in rows:
        o, p = row["ours"], row["peer"]
        lines.append(f"| {row['input']} | {o['precision']:.2f} | {o['recall']:.2f} | {p['precision']:.2f} | "
                     f"{p['recall']:.2f} |")
    (op, orc), (pp, prc) = pr(totals["ours"]), pr(totals["peer"])
    lines.append(f"| **total** | **{op:.2f}** | **{orc:.2f}** | {pp:.2f} | {prc:.2f} |")
    lines += ["", f"Drafting the minutes of a {timing['audio_seconds'] / 60:.0f}-minute transcript "
                  f"({timing['segments']} segments, {timing['words']} words): ours {timing['ours_seconds']} s "
                  f"(extractive, TextRank + patterns + dates), peer {timing['peer_seconds']} s (keyword spotting)."]
    result = {"cases": rows, "totals": {"ours": {"precision": op, "recall": orc}, "peer": {"precision": pp, "recall": prc}},
              "long_meeting": timing, "quick": quick, "markdown": "\n".join(lines)}
    (out_dir / "minutes.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="Minutes benchmark: precision/recall on the samples, time on 1 hour.")
    parser.add_argument("--quick", action="store_true", help="samples only, a 10-minute transcript for the time")
    args = parser.parse_args()
    result = run(args.quick, ROOT / "bench" / "results")
    print(result["markdown"])


if __name__ == "__main__":
    main()
