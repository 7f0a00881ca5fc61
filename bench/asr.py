"""ASR: our default engine against openai-whisper's own transcribe, same weights.

Input: every corpus file with an .stm reference, and (full mode) a composite
of them repeated into ~3 minutes, French and English mixed.

Runs, each in its own process (so peak memory is the run's own):
- ``voicebot faster-whisper``: voicebot.asr with the default engine
  (CTranslate2 int8, VAD chunks, language per chunk), model ``base``;
- ``voicebot openai-whisper``: voicebot.asr with the reference engine on the
  converted checkpoint (float32), the same chunking;
- ``openai-whisper transcribe``: the peer, ``whisper.transcribe`` as its CLI
  runs it (beam 5, best of 5, float32 on CPU) on the converted checkpoint.
All on 2 threads. Figures: model load time, real-time factor (processing time
/ audio time, load excluded), peak RSS, WER per file and total, and ratios
against the peer. Nothing here fails on timing.

    python -m bench.asr [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.scoring import corpus_dir, stm_text, wer

RUNS = ("voicebot faster-whisper", "voicebot openai-whisper", "openai-whisper transcribe")
PEER = "openai-whisper transcribe"


def _inputs(quick: bool, workdir: Path) -> list[dict]:
    corpus = corpus_dir()
    clips = sorted(corpus.glob("*/*.stm"))
    if quick:
        # one short clip: openai-whisper's transcribe (beam 5, best of 5, float32) runs at an RTF of
        # several here, so the CI budget (python -m bench --quick under 5 minutes) holds one clip
        clips = [c for c in clips if c.stem == "leopard-fr"]
    items = [{"name": c.stem, "audio": str(c.with_suffix(".flac")), "reference": stm_text(c)} for c in clips]
    if not quick:
        from voicebot.audio import SAMPLE_RATE, load_audio, write_flac

        pieces, refs = [], []
        gap = np.zeros(SAMPLE_RATE, dtype=np.float32)
        for _ in range(3):
            for clip in clips:
                pieces += [load_audio(clip.with_suffix(".flac")), gap]
                refs.append(stm_text(clip))
        target = workdir / "composite.flac"
        write_flac(target, np.concatenate(pieces))
        items.append({"name": "composite-3min", "audio": str(target), "reference": " ".join(refs)})
    return items


def _home(workdir: Path) -> Path:
    """A VOICEBOT_HOME whose models/ holds base and its openai-whisper checkpoint."""
    from voicebot.asr import convert, models

    home = workdir / "home"
    target = models.install("base", home / "models")
    checkpoint = models.openai_checkpoint(home / "models", "base")
    if not checkpoint.is_file():
        convert.convert(target, checkpoint)
    return home


def worker(run: str, home: Path, items: list[dict]) -> dict:
    """One run, in this process: load once, transcribe every item."""
    from voicebot.audio import SAMPLE_RATE, load_audio
    from voicebot.config import load_settings

    settings = load_settings({"VOICEBOT_HOME": str(home)})
    started = time.perf_counter()
    if run == PEER:
        from voicebot.asr.convert import load_openai_model
        from voicebot.asr.models import openai_checkpoint

        model = load_openai_model(openai_checkpoint(settings.models_dir, "base"), os.cpu_count() or 1)
    else:
        from voicebot import asr

        engine = asr.load_engine(settings, engine=run.split()[1])
    load_s = time.perf_counter() - started
    results = []
    for item in items:
        audio = load_audio(Path(item["audio"]))
        t0 = time.perf_counter()
        if run == PEER:
            import whisper

            text = whisper.transcribe(model, audio, beam_size=5, best_of=5, fp16=False, verbose=None)["text"]
        else:
            text = asr.transcribe(audio, settings, engine=engine).text
        seconds = time.perf_counter() - t0
        results.append({"name": item["name"], "audio_s": len(audio) / SAMPLE_RATE, "seconds": seconds,
                        "text": text, **wer(item["reference"], text)})
    return {"run": run, "load_s": load_s, "items": results}


def _measure(run: str, home: Path, items_file: Path) -> dict:
    """Run ``worker`` in a child process; its peak RSS comes from wait4."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.asr", "--worker", run, "--home", str(home),
                             "--items", str(items_file)], stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{run} failed")
    data = json.loads(out)
    data["peak_rss_mb"] = usage.ru_maxrss / 1024
    return data


def _table(runs: list[dict]) -> str:
    peer = next(r for r in runs if r["run"] == PEER)
    lines = ["| run | load s | RTF | speed vs peer | peak RSS MB | WER total | " +
             " | ".join(f"WER {i['name']}" for i in peer["items"]) + " |",
             "|---" * (6 + len(peer["items"])) + "|"]
    for r in runs:
        lines.append(f"| {r['run']} | {r['load_s']:.1f} | {r['rtf']:.3f} | {peer['rtf'] / r['rtf']:.2f}x | "
                     f"{r['peak_rss_mb']:.0f} | {r['wer']:.3f} | " +
                     " | ".join(f"{i['wer']:.3f}" for i in r["items"]) + " |")
    return "\n".join(lines)


def run(quick: bool, out_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as tmp:
        workdir = Path(tmp)
        items = _inputs(quick, workdir)
        items_file = workdir / "items.json"
        items_file.write_text(json.dumps(items))
        home = _home(workdir)
        runs = []
        for name in RUNS:
            data = _measure(name, home, items_file)
            audio = sum(i["audio_s"] for i in data["items"])
            data["rtf"] = sum(i["seconds"] for i in data["items"]) / audio
            data["wer"] = sum(i["errors"] for i in data["items"]) / sum(i["words"] for i in data["items"])
            runs.append(data)
    peer = next(r for r in runs if r["run"] == PEER)
    ours = runs[0]
    result = {
        "name": "asr", "quick": quick, "model": "base", "threads": os.cpu_count(), "runs": runs,
        "speedup_vs_openai_whisper": peer["rtf"] / ours["rtf"],
        "wer_delta_vs_openai_whisper": ours["wer"] - peer["wer"],
        "audio_seconds": sum(i["audio_s"] for i in ours["items"]),
    }
    result["markdown"] = (f"### ASR (model base, {result['audio_seconds']:.0f} s of audio, {os.cpu_count()} threads)\n\n"
                          + _table(runs) + f"\n\nDefault engine vs openai-whisper: {result['speedup_vs_openai_whisper']:.2f}x "
                          f"faster, WER {ours['wer']:.3f} vs {peer['wer']:.3f}.\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "asr.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short clip only (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--items", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.home, json.loads(args.items.read_text()))))
        return
    print(run(args.quick, args.out)["markdown"])


if __name__ == "__main__":
    main()
