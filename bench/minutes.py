"""Minutes: precision and recall of the decisions and action items on the sample meetings
and on the scripted meetings, and the time to draft the minutes of a 1-hour meeting.

Inputs: the sample meetings (samples/meeting-{en,fr}.transcript.json with their .ics and
expected minutes), the same without punctuation (as some ASR output comes), and, in full
mode, the English sample audio through Whisper base when that model is installed. For the
time: a 1-hour transcript (quick: 10 minutes) made of the two samples' sentences, French
and English alternating, speakers and times kept.

Ours: voicebot.minutes.draft, extractive engine. Peer: a keyword spotter, what a simple
minute-taker does: a sentence with "decided/agreed/décidé..." is a decision, one with
"will/can you/need to/je vais/il faut..." an action item owned by its speaker, its due date
the first date dateparser's search_dates finds in it (RELATIVE_BASE = meeting date).
A drafted item matches an expected one as bench.minutes_score says (span overlap, owner
and due date equal for actions, shared words for decisions). Figures only.

Scripted meetings (samples/scripted/, see its README: 12 meetings written by hand, French
and English, with their expected minutes and the true speaker of each diarization label):
for every engine given (``--engines extractive,llama``; default $BENCH_MINUTES_ENGINES or
extractive) and for the keyword spotter, precision and recall of the decisions and of the
action items apart, per meeting and pooled, on each meeting as written and on an
unpunctuated lower-case copy (as Whisper sometimes gives); speakers are named from the
truth map, so the figures measure the minutes, not the naming. Quick: every third meeting.

    python -m bench.minutes [--quick] [--engines extractive,llama]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bench.minutes_score import label_from_reference, score
from voicebot import schema
from voicebot.config import Settings, load_settings
from voicebot.invites import read_ics
from voicebot.minutes import draft
from voicebot.minutes.people import gather
from voicebot.minutes.text import sentences
from voicebot.textfold import fold_words as fold

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


SCRIPTED = SAMPLES / "scripted"
PEER = "keywords"  # the keyword spotter below, reported beside the engines
VARIANTS = ("punctuated", "unpunctuated")
KINDS = ("decisions", "actions")
CHECKS = ("present_ok", "absent_ok", "next_meeting_ok")

_PEER_DECISION = ("decided", "agreed", "decision", "decide", "d'accord", "valide")
_PEER_ACTION = ("will ", "'ll ", "can you", "could you", "need to", "needs to", "tu peux", "je vais", "il faut",
                "je m'en occupe", "i'll", "je vais")


def load_meeting(stem: Path) -> tuple[schema.Transcript, schema.Meeting, schema.Minutes, dict | None]:
    """STEM.transcript.json, STEM.ics and STEM.expected.json; with the speakers.json that the expected
    file's speaker map (label -> invitee, scripted meetings) amounts to, else None."""
    transcript = schema.Transcript.from_dict(schema.read_json(stem.with_name(stem.name + ".transcript.json")))
    invitation = read_ics(stem.with_name(stem.name + ".ics"))
    meeting = schema.Meeting(id=stem.name, title=invitation.title or "", started_at=invitation.start.isoformat(),
                             invitees=invitation.people)
    data = schema.read_json(stem.with_name(stem.name + ".expected.json"))
    emails = {p.name: p.email for p in invitation.people}
    speakers = {"labels": {label: {"name": name, "email": emails.get(name)} if name else None
                           for label, name in data["speakers"].items()}} if "speakers" in data else None
    return transcript, meeting, schema.Minutes.from_dict(data), speakers


def _sample(lang: str) -> tuple[schema.Transcript, schema.Meeting, schema.Minutes]:
    return load_meeting(SAMPLES / f"meeting-{lang}")[:3]


def peer(transcript: schema.Transcript, meeting: schema.Meeting, speakers: dict | None = None) -> schema.Minutes:
    """The keyword spotter (see the module doc)."""
    from dateparser.search import search_dates

    base = datetime.fromisoformat(transcript.date or meeting.started_at[:10])
    people = gather(transcript, meeting, speakers)
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


def _without_punctuation(transcript: schema.Transcript, lower: bool = False) -> schema.Transcript:
    """The transcript as Whisper sometimes gives it: no punctuation (and, with ``lower``, no capitals)."""
    copy = schema.Transcript.from_dict(transcript.to_dict())
    for seg in copy.segments:
        seg.text = " ".join(re.sub(r"[.,?!;:…«»\"]", " ", seg.text).split())
        seg.text = seg.text.lower() if lower else seg.text
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


# --- the scripted meetings (samples/scripted): every engine, with and without punctuation ---------------


def scripted_stems() -> list[Path]:
    return sorted(p.with_name(p.name[:-len(".expected.json")]) for p in SCRIPTED.glob("*.expected.json"))


def _pr(matched: int, drafted: int, expected: int) -> tuple[float, float]:
    return (matched / drafted if drafted else 1.0, matched / expected if expected else 1.0)


def by_kind(drafted: schema.Minutes, expected: schema.Minutes) -> dict[str, dict]:
    """``score`` on the decisions alone and on the action items alone."""
    return {"decisions": score(replace(drafted, action_items=[]), replace(expected, action_items=[])),
            "actions": score(replace(drafted, decisions=[]), replace(expected, decisions=[]))}


def scripted(engines: list[str], quick: bool = False) -> dict:
    """Decisions and action items, precision and recall, per scripted meeting and pooled, per engine
    and for the keyword peer, on each meeting as written and unpunctuated in lower case."""
    settings = load_settings()
    stems = scripted_stems()[::3] if quick else scripted_stems()
    cases = []
    for stem in stems:
        transcript, meeting, expected, speakers = load_meeting(stem)
        variants = {"punctuated": transcript, "unpunctuated": _without_punctuation(transcript, lower=True)}
        cases.append((stem.name, variants, meeting, expected, speakers))
    results: dict[str, dict] = {}
    for engine in [*engines, PEER]:
        rows = []
        pooled = {v: {k: [0, 0, 0] for k in KINDS} for v in VARIANTS}  # matched, drafted, expected
        checks = {v: {c: 0 for c in CHECKS} for v in VARIANTS}
        errors = 0
        for name, variants, meeting, expected, speakers in cases:
            row: dict = {"meeting": name}
            for variant, transcript in variants.items():
                started = time.perf_counter()
                try:
                    drafted = (peer(transcript, meeting, speakers) if engine == PEER else
                               draft(transcript, settings, meeting=meeting, speakers=speakers, engine=engine))
                except Exception as exc:  # noqa: BLE001 (a bench reports what it could not run)
                    row[variant] = {"error": f"{type(exc).__name__}: {exc}"}
                    errors += 1
                    continue
                whole = score(drafted, expected)
                cell = {"seconds": round(time.perf_counter() - started, 3), "engine_used": drafted.engine,
                        **{c: whole[c] for c in CHECKS}}
                for kind, result in by_kind(drafted, expected).items():
                    cell[kind] = {k: result[k] for k in ("precision", "recall", "matched", "drafted", "expected",
                                                         "missing", "extra")}
                    for i, key in enumerate(("matched", "drafted", "expected")):
                        pooled[variant][kind][i] += result[key]
                for c in CHECKS:  # the keyword spotter says nothing of who came or of the next meeting
                    checks[variant][c] = None if engine == PEER else checks[variant][c] + bool(whole[c])
                row[variant] = cell
            rows.append(row)
        data: dict = {"meetings": rows, "pooled": {
            v: {**{k: dict(zip(("precision", "recall"), _pr(*pooled[v][k])), matched=pooled[v][k][0],
                          drafted=pooled[v][k][1], expected=pooled[v][k][2]) for k in KINDS},
                **checks[v]} for v in VARIANTS}}
        if errors == len(cases) * len(VARIANTS):
            data = {"error": next(r[v]["error"] for r in rows for v in VARIANTS)}
        results[engine] = data
    return {"meetings": [c[0] for c in cases], "engines": results,
            "mixed_language": [c[0] for c in cases if len(c[1]["punctuated"].languages) > 1]}


def _fraction(cell: dict, kind: str) -> str:
    if "error" in cell:
        return "failed"
    k = cell[kind]
    return f"{k['matched']}/{k['drafted']}, {k['matched']}/{k['expected']}"


def scripted_markdown(result: dict) -> str:
    n = len(result["meetings"])
    fr = sum(m.startswith("fr-") for m in result["meetings"])
    mixed = len(result["mixed_language"])
    lines = [f"Scripted meetings (samples/scripted: {n - fr} English, {fr} French, {mixed} of them mixed; written by hand "
             "with their expected minutes; speakers named from the truth map). D = decisions, A = action items "
             "(owner and due date must match); unpunctuated = lower case, no punctuation.", "",
             "| engine | variant | D precision | D recall | A precision | A recall | present ok | absent ok | "
             "next meeting ok |", "|---|---|---|---|---|---|---|---|---|"]
    for engine, data in result["engines"].items():
        if "error" in data:
            lines.append(f"| {engine} | not run: `{data['error']}` | | | | | | | |")
            continue
        for variant in VARIANTS:
            p = data["pooled"][variant]
            d, a = p["decisions"], p["actions"]
            lines.append(f"| {engine} | {variant} | {d['precision']:.2f} ({d['matched']}/{d['drafted']}) | "
                         f"{d['recall']:.2f} ({d['matched']}/{d['expected']}) | {a['precision']:.2f} "
                         f"({a['matched']}/{a['drafted']}) | {a['recall']:.2f} ({a['matched']}/{a['expected']}) | "
                         + " | ".join("-" if p[c] is None else f"{p[c]}/{n}" for c in CHECKS) + " |")
    for engine, data in result["engines"].items():
        if "error" in data:
            continue
        lines += ["", f"Per meeting, {engine} (matched/drafted, matched/expected):", "",
                  "| meeting | D | A | D unpunctuated | A unpunctuated |", "|---|---|---|---|---|"]
        for row in data["meetings"]:
            lines.append(f"| {row['meeting']} | " + " | ".join(_fraction(row[v], k) for v in VARIANTS for k in KINDS)
                         + " |")
    return "\n".join(lines)


def run(quick: bool, out_dir: Path, engines: list[str] | None = None) -> dict:
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
        ours = score(draft(transcript, settings, meeting=meeting, engine="extractive"), expected)
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
    minutes = draft(transcript, settings, meeting=meeting, engine="extractive")
    ours_time = time.perf_counter() - start
    start = time.perf_counter()
    peer(transcript, meeting)
    peer_time = time.perf_counter() - start
    timing = {"audio_seconds": round(transcript.duration, 1), "segments": len(transcript.segments),
              "words": len(transcript.text.split()), "ours_seconds": round(ours_time, 2),
              "peer_seconds": round(peer_time, 2), "decisions": len(minutes.decisions),
              "action_items": len(minutes.action_items), "key_points": len(minutes.key_points)}

    lines = ["| input | ours P | ours R | peer P | peer R |", "|---|---|---|---|---|"]
    for row in rows:
        o, p = row["ours"], row["peer"]
        lines.append(f"| {row['input']} | {o['precision']:.2f} | {o['recall']:.2f} | {p['precision']:.2f} | "
                     f"{p['recall']:.2f} |")
    (op, orc), (pp, prc) = _pr(*totals["ours"]), _pr(*totals["peer"])
    lines.append(f"| **total** | **{op:.2f}** | **{orc:.2f}** | {pp:.2f} | {prc:.2f} |")
    lines += ["", f"Drafting the minutes of a {timing['audio_seconds'] / 60:.0f}-minute transcript "
                  f"({timing['segments']} segments, {timing['words']} words): ours {timing['ours_seconds']} s "
                  f"(extractive, TextRank + patterns + dates), peer {timing['peer_seconds']} s (keyword spotting)."]
    scripted_result = scripted(engines or engines_from(), quick)
    lines += ["", scripted_markdown(scripted_result)]
    result = {"cases": rows, "totals": {"ours": {"precision": op, "recall": orc}, "peer": {"precision": pp, "recall": prc}},
              "long_meeting": timing, "scripted": scripted_result, "quick": quick, "markdown": "\n".join(lines)}
    (out_dir / "minutes.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="Minutes benchmark: precision/recall on the samples and the "
                                                 "scripted meetings, time on 1 hour.")
    parser.add_argument("--quick", action="store_true", help="no audio, a third of the scripted meetings, "
                                                             "a 10-minute transcript for the time")
    parser.add_argument("--engines", type=parse_engines, help="comma-separated minutes engines for the scripted "
                        "meetings (default: $BENCH_MINUTES_ENGINES or extractive); the keyword peer is always added")
    args = parser.parse_args()
    result = run(args.quick, ROOT / "bench" / "results", args.engines)
    print(result["markdown"])


if __name__ == "__main__":
    main()
