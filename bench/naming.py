"""Speaker naming: precision and recall of the speakers' names and of who was present or absent.

Inputs: the scripted meetings (samples/scripted/, see its README: written by hand, French and
English, each with its invitation and the truth: which invitee each diarization label is,
``null`` for a voice nobody invited, and who was present and absent) and the English sample
meeting's reference transcript (samples/meeting-en.transcript.json, its speakers turned into
labels in order of appearance). Ours: voicebot.naming.identify, the same call the pipeline's
speakers stage makes, on the transcript with its diarization labels and the invite list.

Conditions:
- ``no voiceprint``: nobody enrolled, names from what was said only (a team's first meeting);
- ``organiser enrolled`` and ``half enrolled`` (every other person present, in the order of the
  invitation): those people's labels come named by voice, as the voiceprint matching gives them
  above its calibrated threshold (assumed right: no false match was measured when it was calibrated;
  see voicebot/diarize/naming.py), the rest from what was said;
- ``no voiceprint, lower case, no punctuation``: as some Whisper output comes, names then carry no capital.

Figures, pooled over the meetings:
- names: precision = right names / names given (to invitees' voices or to a voice nobody invited);
  recall = right names / voices that are an invitee. A voice nobody invited that gets a name nobody
  invited (a client who said who they are) is counted apart, as ``guests named``, and listed;
- presence: precision and recall of ``absent`` (who gets the "you missed it" message) and of
  ``present``; ``unknown`` counts the invitees left unknown (they get the attendee message).

    python -m bench.naming [--quick]          (quick: every other meeting)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.minutes import SAMPLES, SCRIPTED, _without_punctuation, load_meeting
from voicebot import schema
from voicebot.invites import find_person, same_name
from voicebot.naming import identify

CONDITIONS = ("no voiceprint", "organiser enrolled", "half enrolled", "no voiceprint, lower case, no punctuation")


def meetings(quick: bool = False) -> list[tuple[str, schema.Transcript, schema.Meeting, dict, schema.Minutes]]:
    """(name, transcript with labels, meeting, truth label -> invitee or None, expected minutes)."""
    out = []
    stems = sorted(p.with_suffix("") for p in SCRIPTED.glob("*.txt"))
    for stem in stems[::2] if quick else stems:
        transcript, meeting, expected, _ = load_meeting(stem)
        truth = schema.read_json(stem.with_name(stem.name + ".expected.json"))["speakers"]
        out.append((stem.name, transcript, meeting, truth, expected))
    transcript, meeting, expected, _ = load_meeting(SAMPLES / "meeting-en")
    labels = {name: f"SPEAKER_{i:02d}" for i, name in enumerate(transcript.speakers)}
    for seg in transcript.segments:
        seg.speaker = labels.get(seg.speaker, seg.speaker)
    out.append(("meeting-en (sample, reference transcript)", transcript, meeting,
                {label: name for name, label in labels.items()}, expected))
    return out


def _voices(truth: dict, meeting: schema.Meeting, condition: str) -> schema.Naming | None:
    """What the voiceprints would say in ``condition``: the enrolled people's labels, named by voice."""
    if condition not in ("organiser enrolled", "half enrolled"):
        return None
    present = [p for p in meeting.invitees if any(same_name(p.name, t) for t in truth.values() if t)]
    if condition == "organiser enrolled":
        enrolled = [p for p in present if p.role == "organizer"]
    else:
        enrolled = present[::2]
    labels = {}
    for label, name in truth.items():
        person = find_person(name, None, enrolled) if name else None
        labels[label] = {"name": person.name, "email": person.email, "score": 0.9} if person else None
    return {"labels": labels, "present": [], "unnamed": {}, "threshold": 0.85}


def score_one(naming: schema.Naming, truth: dict, meeting: schema.Meeting, expected: schema.Minutes) -> dict:
    invited = [p.name for p in meeting.invitees]
    counts = {"right": 0, "wrong": 0, "missed": 0, "voices": 0, "guests_named": []}
    wrong = []
    for label, true in truth.items():
        match = (naming.get("labels") or {}).get(label)
        got = match["name"] if match else None
        if true:
            counts["voices"] += 1
        if got is None:
            counts["missed"] += 1 if true else 0
        elif true and same_name(got, true, short_forms=False):
            counts["right"] += 1
        elif not true and not any(same_name(got, n) for n in invited):
            counts["guests_named"].append(got)
        else:
            counts["wrong"] += 1
            wrong.append(f"{label}: {got} (is {true or 'nobody invited'}; {match.get('reason')})")
    presence = {}
    for key, reference in (("absent", expected.absent), ("present", expected.present)):
        said = [n for n in naming.get(key) or [] if any(same_name(n, i) for i in invited)]  # guests apart
        hits = sum(1 for n in said if any(same_name(n, r) for r in reference))
        presence[key] = {"said": len(said), "right": hits, "expected": len(reference)}
    return {**counts, "wrong_names": wrong, "presence": presence, "unknown": list(naming.get("unknown") or []),
            "absent": list(naming.get("absent") or [])}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def pooled(rows: list[dict]) -> dict:
    right = sum(r["right"] for r in rows)
    wrong = sum(r["wrong"] for r in rows)
    voices = sum(r["voices"] for r in rows)
    out = {"names": {"precision": _ratio(right, right + wrong), "recall": _ratio(right, voices),
                     "right": right, "wrong": wrong, "voices": voices,
                     "guests_named": sum(len(r["guests_named"]) for r in rows)}}
    for key in ("absent", "present"):
        said = sum(r["presence"][key]["said"] for r in rows)
        hits = sum(r["presence"][key]["right"] for r in rows)
        expected = sum(r["presence"][key]["expected"] for r in rows)
        out[key] = {"precision": _ratio(hits, said), "recall": _ratio(hits, expected), "right": hits, "said": said,
                    "expected": expected}
    out["unknown"] = sum(len(r["unknown"]) for r in rows)
    return out


def run(quick: bool = False, out_dir: Path | None = None) -> dict:
    result: dict = {"conditions": {}, "meetings": []}
    cases = meetings(quick)
    result["meetings"] = [name for name, *_ in cases]
    for condition in CONDITIONS:
        rows = []
        for name, transcript, meeting, truth, expected in cases:
            if "lower case" in condition:
                transcript = _without_punctuation(transcript, lower=True)
            naming = identify(transcript, meeting.invitees, _voices(truth, meeting, condition))
            rows.append({"meeting": name, **score_one(naming, truth, meeting, expected)})
        result["conditions"][condition] = {"pooled": pooled(rows), "meetings": rows}
    result["markdown"] = markdown(result)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "naming.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                                                   encoding="utf-8")
    return result


def _pr(data: dict) -> str:
    fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    return f"{fmt(data['precision'])} / {fmt(data['recall'])}"


def markdown(result: dict) -> str:
    lines = [f"Speaker naming on {len(result['meetings'])} meetings ({', '.join(result['meetings'])}).", "",
             "| condition | names P / R (right, wrong, voices) | guests named | absent P / R | present P / R | "
             "invitees unknown |", "|---|---|---|---|---|---|"]
    for condition, data in result["conditions"].items():
        p = data["pooled"]
        n = p["names"]
        lines.append(f"| {condition} | {_pr(n)} ({n['right']}, {n['wrong']}, {n['voices']}) | {n['guests_named']} | "
                     f"{_pr(p['absent'])} | {_pr(p['present'])} | {p['unknown']} |")
    lines += ["", "Per meeting, no voiceprint:", "", "| meeting | names right / voices | wrong | guests named | "
              "absent said | unknown |", "|---|---|---|---|---|---|"]
    for row in result["conditions"][CONDITIONS[0]]["meetings"]:
        lines.append(f"| {row['meeting']} | {row['right']} / {row['voices']} | {'; '.join(row['wrong_names']) or 0} | "
                     f"{', '.join(row['guests_named']) or '-'} | {', '.join(row['absent']) or '-'} | "
                     f"{', '.join(row['unknown']) or '-'} |")
    wrong = [w for data in result["conditions"].values() for row in data["meetings"] for w in row["wrong_names"]]
    if wrong:
        lines += ["", "Wrong names (any condition): " + "; ".join(sorted(set(wrong)))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naming", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every other scripted meeting")
    parser.add_argument("--out", type=Path, default=None, help="also write naming.json there")
    args = parser.parse_args(argv)
    print(run(args.quick, args.out)["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
