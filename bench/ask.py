"""Ask your meetings on QMSum: retrieval (full text, semantic, hybrid) and cited answers.

Input: ``<corpus>/qmsum/`` read in place. Meetings (``--meetings N``, default 20, the same
selection as ``bench.qmsum``; ``--quick``: its 3 shortest AMI meetings) become voicebot
transcripts through ``bench.qmsum.load`` (one segment per turn, synthetic times at 2.5 words/s)
and are archived by ``voicebot.importing.import_transcript`` (what ``voicebot meetings import``
does: store, then embed the passages) in a fresh SQLite archive.

Questions: every ``specific_query_list`` item of those meetings; its ``relevant_text_span`` turn
ranges are the turns that answer it. A retrieved passage is *right* when it spans one of those
turns. Per ranking, over all questions: recall@5 (a right passage among the first 5) and MRR (1 /
rank of the first right passage among the first 50; 0 if none). Two scopes:

- ``meeting``: the question asked of its own meeting (``voicebot ask --meeting``), as QMSum intends;
- ``archive``: the question asked of every meeting archived; a right passage must also be in
  the question's meeting (the AMI meetings all design a remote control, so this is hard).

Rankings (``archive/vectors.py``): ``fts as typed`` (the question given to search as it is: all
its words must match), ``fts`` (its content words, any of them: BM25; the full-text side of
ask), ``semantic`` (cosine of multilingual USE v3 embeddings), ``hybrid`` (reciprocal rank
fusion of the last two), ``hybrid + named`` (what ``voicebot ask`` uses: the speakers the
question names, "What did Marketing think...", get their passages ranked again on their own and
fused in too).

Answers (``--answers N``, default 3, because the local model takes tens of seconds per
question on 2 cores): N questions spread evenly over all of them, asked with ``--meeting`` and
the local model (``models/llm``; skipped when not installed). Scored: ROUGE-1/2/L F1 of the
answer's claims against the human answer (the passages-only answer, the first passage's text,
is scored too, as a baseline), how many answers say "not found", and the share of answers whose
citations all (and at least one) fall within the right turns (by time), and what the answers cost:
seconds, and the tokens the model read and wrote (the same on any machine; a 2-core laptop reads
about 43 prompt tokens and writes about 11 answer tokens a second).

Scale (``--scale-hours H``): the archive grown to H hours by storing the meetings again under new
ids, with copies of their vectors (embedding 1,000 hours would take hours), then the retrieval of
20 questions over the whole archive timed, per ranking: median and 95th percentile; then 3 whole
questions (retrieval and the model's answer) when the model is installed.

    python -m bench.ask [--quick] [--meetings N] [--answers N] [--scale-hours H]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.qmsum import METRICS, ROOT, family, load, rouge, select, spoken_turns

SCOPES = ("meeting", "archive")
RANKINGS = ("fts as typed", "fts", "semantic", "hybrid", "hybrid + named")
DEPTH = 50
AT = 5
DEFAULT_ANSWERS = 3
ANSWERS_AT_SCALE = 3  # whole questions timed on the grown archive (the first one loads the model)


def _archive(paths: list[Path], home: Path) -> tuple[object, dict]:
    """Import the meetings into a fresh archive under ``home``: (settings, {name: meeting facts})."""
    from voicebot.archive import open_archive
    from voicebot.config import Settings
    from voicebot.importing import import_transcript

    settings = Settings(home=home)
    meetings = {}
    for path in paths:
        transcript, _ = load(path)
        source = home / f"{path.stem}.json"
        source.write_text(json.dumps(transcript.to_dict()), encoding="utf-8")
        started = time.monotonic()
        imported = import_transcript(settings, source, title=path.stem, date="2005-01-03")
        seconds = time.monotonic() - started
        data = json.loads(path.read_text(encoding="utf-8"))
        with open_archive(settings) as db:
            ids = [r["id"] for r in db.backend.query("SELECT id FROM segments WHERE meeting_id = ? ORDER BY position",
                                                     (imported.meeting_id,))]
        turns = [i for i, _, _ in spoken_turns(data)]
        assert len(ids) == len(turns) == len(transcript.segments), path
        meetings[path.stem] = {"id": imported.meeting_id, "segment_of_turn": dict(zip(turns, ids)),
                               "times": {i: (s.start, s.end) for i, s in zip(ids, transcript.segments)},
                               "questions": data["specific_query_list"],
                               "hours": transcript.duration / 3600, "words": len(transcript.text.split()),
                               "passages": imported.passages, "import_seconds": round(seconds, 2)}
        print(f"ask: {path.stem}: {imported.passages} passages, {seconds:.1f} s", file=sys.stderr, flush=True)
    return settings, meetings


def _questions(meetings: dict) -> list[dict]:
    questions = []
    for name, meeting in meetings.items():
        for item in meeting["questions"]:
            turns = {t for lo, hi in item["relevant_text_span"] for t in range(int(lo), int(hi) + 1)}
            relevant = {meeting["segment_of_turn"][t] for t in turns if t in meeting["segment_of_turn"]}
            if relevant:
                questions.append({"meeting": name, "meeting_id": meeting["id"], "query": item["query"],
                                  "answer": item["answer"], "relevant": relevant,
                                  "times": [meeting["times"][i] for i in sorted(relevant)]})
    return questions


def _rank(passages, question: dict) -> int | None:
    for rank, p in enumerate(passages, start=1):
        if p.meeting_id == question["meeting_id"] and any(
                p.segment_ids[0] <= s <= p.segment_ids[1] for s in question["relevant"]):
            return rank
    return None


def retrieval(settings, questions: list[dict]) -> dict:
    from voicebot import embedding
    from voicebot.archive import open_archive
    from voicebot.archive.query import parse
    from voicebot.ask import named_speakers, question_query

    vectors = embedding.encode([q["query"] for q in questions])
    ranks = {scope: {name: [] for name in RANKINGS} for scope in SCOPES}
    seconds = {name: [] for name in RANKINGS}
    with open_archive(settings) as db:
        for question, vector in zip(questions, vectors):
            for scope in SCOPES:
                meeting = question["meeting_id"] if scope == "meeting" else None
                for name in RANKINGS:
                    query = parse(question["query"]) if name == "fts as typed" else question_query(question["query"])
                    mode = "fts" if name.startswith("fts") else name.split()[0]
                    started = time.monotonic()
                    named = named_speakers(db.speakers(), question["query"]) if name.endswith("named") else None
                    found = db.retrieve(query, vector if mode != "fts" else None, mode=mode, meeting=meeting,
                                        limit=DEPTH, named=named)
                    if scope == "archive":
                        seconds[name].append(time.monotonic() - started)
                    ranks[scope][name].append(_rank(found, question))
    table = {scope: {name: {f"recall@{AT}": round(sum(1 for r in rs if r and r <= AT) / len(rs), 3),
                            "mrr": round(statistics.fmean(1 / r if r else 0.0 for r in rs), 3),
                            "found_in_50": round(sum(1 for r in rs if r) / len(rs), 3)}
                     for name, rs in ranks[scope].items()} for scope in SCOPES}
    timing = {name: round(statistics.median(s) * 1000, 1) for name, s in seconds.items()}
    return {"questions": len(questions), "table": table, "median_ms_archive": timing}


def _cited_right(citation: dict, times: list[tuple[float, float]]) -> bool:
    return any(citation["start"] < end and start < citation["end"] for start, end in times)


def answers(settings, questions: list[dict], count: int) -> dict:
    from voicebot.archive import open_archive
    from voicebot.ask import ask
    from voicebot.llm import runtime

    if count <= 0:
        return {"skipped": "--answers 0"}
    if not runtime.installed(settings):
        return {"skipped": f"no language model in {settings.models_dir / 'llm'} (voicebot models install minutes)"}
    picked = [questions[round(i * len(questions) / count)] for i in range(min(count, len(questions)))]
    rows = []
    with open_archive(settings) as db:
        for n, question in enumerate(picked, start=1):
            started = time.monotonic()
            answer = ask(settings, db, question["query"], meeting=question["meeting_id"]).to_dict()
            seconds = time.monotonic() - started
            claims = " ".join(c["text"] for c in answer["claims"])
            baseline = ask(settings, db, question["query"], engine="passages", meeting=question["meeting_id"])
            row = {"meeting": question["meeting"], "query": question["query"], "engine": answer["engine"],
                   "found": answer["found"], "answer": answer["text"], "note": answer["note"],
                   "seconds": round(seconds, 1), "retrieve_seconds": answer["seconds"].get("retrieve"),
                   "answer_seconds": answer["seconds"].get("answer"), "tokens": answer["tokens"],
                   "rouge": rouge(question["answer"], claims) if claims else {m: 0.0 for m in METRICS},
                   "rouge_first_passage": rouge(question["answer"], baseline.citations[0].text)
                   if baseline.citations else {m: 0.0 for m in METRICS},
                   "citations": len(answer["citations"]),
                   "citations_right": sum(_cited_right(c, question["times"]) for c in answer["citations"])}
            rows.append(row)
            print(f"ask: answer {n}/{len(picked)}: {seconds:.1f} s, {row['citations_right']}/{row['citations']} "
                  "citations right", file=sys.stderr, flush=True)
    modeled = [r for r in rows if r["engine"] == "llama"]  # not past the time limit
    claimed = [r for r in modeled if r["found"]]

    def mean(values, key):
        return {m: round(statistics.fmean(v[key][m] for v in values), 4) if values else None for m in METRICS}

    return {
        "answers": len(rows),
        "model_answers": len(modeled),
        "not_found": sum(not r["found"] for r in modeled),
        "rouge": mean(claimed, "rouge"),
        "rouge_first_passage": mean(claimed, "rouge_first_passage"),
        "all_citations_right": round(sum(r["citations_right"] == r["citations"] for r in claimed) / len(claimed), 3)
        if claimed else None,
        "some_citation_right": round(sum(r["citations_right"] > 0 for r in claimed) / len(claimed), 3)
        if claimed else None,
        "median_seconds": round(statistics.median(r["seconds"] for r in rows), 1),
        "median_tokens": {kind: statistics.median(r["tokens"][kind] for r in modeled) if modeled else None
                          for kind in ("prompt", "answer")},
        "max_seconds": max(r["seconds"] for r in rows),
        "rows": rows,
    }


def scale(settings, archived: dict, hours: float, questions: list[dict]) -> dict:
    """Grow the archive to ``hours`` by storing the meetings again under new ids (through the archive
    API: segments and their full-text index) with copies of their passages' vectors, then time
    ``ask``'s retrieval over all of it (no meeting filter), each question once per ranking."""
    import math
    from datetime import datetime, timedelta, timezone

    from voicebot import recordings, schema
    from voicebot.archive import open_archive
    from voicebot.ask import ask, retrieve
    from voicebot.llm import runtime

    base = sum(m["hours"] for m in archived.values())
    copies = max(0, math.ceil(hours / base) - 1)
    started = time.monotonic()
    with open_archive(settings) as db:
        for copy in range(copies):
            with db.transaction():
                for n, meeting in enumerate(archived.values()):
                    day = datetime(2006, 1, 2, 9, tzinfo=timezone.utc) + timedelta(days=copy * len(archived) + n)
                    meeting_id = recordings.new_meeting_id(f"copy {copy}", day)
                    transcript = db.get_transcript(meeting["id"])
                    db.save_meeting(schema.Meeting(id=meeting_id, title=f"copy {copy}", started_at=day.isoformat(),
                                                   status="imported"))
                    db.save_transcript(meeting_id, transcript)
                    new_ids = [r["id"] for r in db.backend.query(
                        "SELECT id FROM segments WHERE meeting_id = ? ORDER BY position", (meeting_id,))]
                    position = {old: i for i, old in enumerate(meeting["segment_of_turn"].values())}
                    db.backend.executemany(
                        "INSERT INTO passages (meeting_id, first_segment, last_segment, start_time, end_time, model, "
                        "vector) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(meeting_id, new_ids[position[p["first_segment"]]], new_ids[position[p["last_segment"]]],
                          p["start_time"], p["end_time"], p["model"], p["vector"]) for p in db.backend.query(
                            "SELECT * FROM passages WHERE meeting_id = ? ORDER BY id", (meeting["id"],))])
            if copy % 10 == 9:
                print(f"ask: scale: {(copy + 2) * base:.0f} h stored", file=sys.stderr, flush=True)
        built = time.monotonic() - started
        total_hours = base * (copies + 1)
        passages = db.passage_count()

        times: dict[str, list[float]] = {mode: [] for mode in ("fts", "semantic", "hybrid")}
        for question in questions[:20]:
            for mode in times:  # as ask does it: the question embedded, the speakers it names, the rankings
                t0 = time.monotonic()
                retrieve(db, question["query"], mode=mode, limit=5)
                times[mode].append(time.monotonic() - t0)
        answered = []  # whole questions, retrieval and the model's answer, over the whole archive
        if runtime.installed(settings):
            for question in questions[:ANSWERS_AT_SCALE]:
                t0 = time.monotonic()
                answer = ask(settings, db, question["query"])
                answered.append({"seconds": round(time.monotonic() - t0, 1), "engine": answer.engine,
                                 "retrieve": answer.seconds.get("retrieve"), "answer": answer.seconds.get("answer"),
                                 "tokens": answer.tokens})
    quantiles = {name: {"p50_s": round(statistics.median(v), 3),
                        "p95_s": round(sorted(v)[max(0, math.ceil(0.95 * len(v)) - 1)], 3)} for name, v in times.items()}
    return {"hours": round(total_hours, 1), "passages": passages, "build_seconds": round(built, 1),
            "questions": len(times["fts"]), "retrieval": quantiles, "answers": answered}


def markdown(result: dict) -> str:
    n = len(result["meetings"])
    hours = sum(m["hours"] for m in result["meetings"])
    ret = result["retrieval"]
    lines = [f"Retrieval on {n} QMSum meetings ({hours:.1f} h at 2.5 words/s, {result['passages']} passages), "
             f"{ret['questions']} specific questions; a passage is right when it spans a turn of the question's "
             f"relevant_text_span.", "",
             "| ranking | recall@5 (its meeting) | MRR (its meeting) | recall@5 (whole archive) | MRR (whole archive) "
             "| median ms (whole archive) |", "|---|---|---|---|---|---|"]
    for name in RANKINGS:
        m, a = ret["table"]["meeting"][name], ret["table"]["archive"][name]
        lines.append(f"| {name} | {m['recall@5']:.3f} | {m['mrr']:.3f} | {a['recall@5']:.3f} | {a['mrr']:.3f} | "
                     f"{ret['median_ms_archive'][name]} |")
    embed = result["embedding"]
    lines += ["", f"Import + embedding: {embed['seconds_per_hour']:.1f} s per hour of meeting "
                  f"({embed['words_per_second']:.0f} words/s; {embed['total_seconds']:.0f} s for {hours:.1f} h)."]
    big = result.get("scale")
    if big:
        r = big["retrieval"]
        lines += ["", f"Retrieval on a {big['hours']:.0f}-hour archive ({big['passages']} passages; the meetings stored "
                      f"again with copies of their vectors), {big['questions']} questions, whole archive: "
                      + ", ".join(f"{name} p50 {q['p50_s']} s / p95 {q['p95_s']} s" for name, q in r.items()) + "."]
        if big.get("answers"):
            lines.append("Whole questions there (retrieval + the model's answer, seconds): " + ", ".join(
                f"{a['seconds']} ({a['retrieve']} + {a['answer']}, {a['engine']})" for a in big["answers"]) + ".")
    ans = result["answers"]
    if "skipped" in ans:
        lines += ["", f"Answers: skipped ({ans['skipped']})."]
    else:
        def three(scores):
            return " / ".join("-" if scores[m] is None else f"{scores[m]:.3f}" for m in METRICS)

        def share(value):
            return "-" if value is None else f"{value:.2f}"

        lines += ["", f"Answers by the local model: {ans['answers']} questions asked of their meeting, "
                      f"{ans['model_answers']} answered within the time limit ({ans['not_found']} of them "
                      f"'not found'); over the answers with claims: ROUGE-1/2/L {three(ans['rouge'])} (the first "
                      f"passage alone on the same questions: {three(ans['rouge_first_passage'])}); every citation "
                      f"in the right turns: {share(ans['all_citations_right'])}, at least one: "
                      f"{share(ans['some_citation_right'])}; {ans['median_seconds']} s median, {ans['max_seconds']} s "
                      "max per question (retrieval and answer); the model read "
                      f"{ans['median_tokens']['prompt']} prompt tokens and wrote {ans['median_tokens']['answer']} "
                      "(medians)."]
    return "\n".join(lines)


def run(quick: bool, out_dir: Path, meetings: int, answer_count: int, scale_hours: float = 0) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = select(meetings, quick)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        models = ROOT / "models"
        if models.is_dir():
            (home / "models").symlink_to(models.resolve(), target_is_directory=True)
        settings, archived = _archive(paths, home)
        questions = _questions(archived)
        result = {"corpus": "qmsum", "quick": quick,
                  "meetings": [{"meeting": k, "family": family(k), "hours": round(v["hours"], 3), "words": v["words"],
                                "passages": v["passages"], "import_seconds": v["import_seconds"]}
                               for k, v in archived.items()]}
        result["passages"] = sum(m["passages"] for m in result["meetings"])
        total = sum(m["import_seconds"] for m in result["meetings"])
        result["embedding"] = {"total_seconds": round(total, 1),
                               "seconds_per_hour": round(total / sum(m["hours"] for m in result["meetings"]), 2),
                               "words_per_second": round(sum(m["words"] for m in result["meetings"]) / total, 1)}
        result["retrieval"] = retrieval(settings, questions)
        result["answers"] = answers(settings, questions, answer_count)
        if scale_hours:
            result["scale"] = scale(settings, archived, scale_hours, questions)
    result["markdown"] = markdown(result)
    (out_dir / "ask.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=sorted) + "\n",
                                      encoding="utf-8")
    (out_dir / "ask.md").write_text(result["markdown"] + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ask", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 3 shortest AMI meetings")
    parser.add_argument("--meetings", type=int, default=20, help="how many meetings (default 20)")
    parser.add_argument("--answers", type=int, default=DEFAULT_ANSWERS,
                        help=f"questions answered by the local model (default {DEFAULT_ANSWERS}; 0: none)")
    parser.add_argument("--scale-hours", type=float, default=0,
                        help="then grow the archive to this many hours and time retrieval over it (e.g. 1000)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    result = run(args.quick, args.out, args.meetings, args.answers, args.scale_hours)
    print(result["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
