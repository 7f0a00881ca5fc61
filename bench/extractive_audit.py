"""Extractive minutes on real meetings, for reading: the action items and decisions the
extractive engine drafts for QMSum meetings (AMI, ICSI; ../shared/corpus/qmsum), next to
each meeting's human summary.

QMSum has no audio nor times: each turn becomes one transcript segment, its disfluency
marks ({disfmarker}, {vocalsound}...) dropped, the spaces before punctuation closed, the
spelled-out letters joined ("T_V_" -> "TV"), its duration its word count at 2.5 words per
second, its speaker the role ("Project Manager", "PhD A"). No score: the summaries are
free text, the reading is by eye. The counts per meeting are printed at the end (and
written as JSON with --json, to compare two versions of the engine).

    python -m bench.extractive_audit [--json counts.json] [--quiet] ES2002b IS1001b ...
"""

from __future__ import annotations

import argparse
import json
import re
import textwrap
from pathlib import Path

from voicebot import schema
from voicebot.config import Settings
from voicebot.minutes import draft

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "qmsum"
WORDS_PER_SECOND = 2.5
DEV = ["ES2002b", "ES2003a", "ES2005c", "ES2008d", "IS1001b", "IS1004d", "TS3003c", "TS3008b", "Bed012", "Bro018",
       "ES2007a", "ES2012b", "ES2013d", "IS1002b", "IS1009d", "TS3005b", "TS3012a", "Bed004", "Bmr009", "Bmr018"]
HELD_OUT = ["ES2014c", "ES2016a", "IS1007c", "TS3006d", "Bmr013"]


def clean(text: str) -> str:
    text = re.sub(r"\{[a-z]+\}", " ", text)
    # Spelled-out letters: "T_V_" -> "TV", "L_C_D_ remotes" -> "LCD remotes".
    text = re.sub(r"(?<![A-Za-z])(?:[A-Za-z]_ ?)+", lambda m: m.group(0).replace("_", "").replace(" ", "") + " ", text)
    text = re.sub(r"\s+([,.?!;:]|'(?:s|re|ll|ve|d|m)\b|n't\b)", r"\1", text)  # "it 's" -> "it's"
    return re.sub(r"\s+", " ", text).strip()


def transcript(name: str, corpus: Path = CORPUS, date: str = "2026-03-12") -> tuple[schema.Transcript, dict]:
    data = json.loads((corpus / f"{name}.json").read_text())
    segments, t = [], 0.0
    for turn in data["meeting_transcripts"]:
        text = clean(turn["content"])
        if not re.search(r"\w", text):
            continue
        seconds = max(0.4, len(text.split()) / WORDS_PER_SECOND)
        segments.append(schema.Segment(round(t, 3), round(t + seconds, 3), text, speaker=turn["speaker"],
                                       language="en"))
        t += seconds + 0.2
    return schema.Transcript(language="en", duration=round(t, 3), model="qmsum", engine="qmsum",
                             segments=segments, date=date, title=name), data


def _said(t: schema.Transcript, start: float, end: float) -> str:
    return "\n".join(f"{s.speaker}: {s.text[:300]}" for s in t.segments if s.end > start and s.start < end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("meetings", nargs="*", help="QMSum meeting names (default: the development set)")
    parser.add_argument("--held-out", action="store_true", help="the held-out meetings instead")
    parser.add_argument("--json", type=Path, help="write the items per meeting here")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help=f"the QMSum folder (default: {CORPUS})")
    parser.add_argument("--quiet", action="store_true", help="counts only")
    parser.add_argument("--sources", action="store_true", help="print what each item comes from")
    args = parser.parse_args()
    names = args.meetings or (HELD_OUT if args.held_out else DEV)
    results = {}
    for name in names:
        t, data = transcript(name, args.corpus)
        minutes = draft(t, Settings(), engine="extractive")
        results[name] = {
            "actions": [f"[{a.owner}] {a.task}" + (f" (due {a.due})" if a.due else "") for a in minutes.action_items],
            "decisions": [d.text for d in minutes.decisions],
        }
        sources = {"actions": [_said(t, a.source_start, a.source_end) for a in minutes.action_items],
                   "decisions": [_said(t, d.source_start, d.source_end) for d in minutes.decisions]}
        if args.quiet:
            continue
        print(f"=== {name} ({t.duration / 60:.0f} min, {len(t.segments)} turns)")
        print(textwrap.fill(data["general_query_list"][0]["answer"], 110, initial_indent="  summary: ",
                            subsequent_indent="    "))
        for kind in ("decisions", "actions"):
            for item, said in zip(results[name][kind], sources[kind]):
                print(f"  {kind[:-1]}: {item}")
                if args.sources:
                    print(textwrap.indent(said, "      > "))
    print("| meeting | action items | decisions |\n|---|---|---|")
    for name, found in results.items():
        print(f"| {name} | {len(found['actions'])} | {len(found['decisions'])} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
