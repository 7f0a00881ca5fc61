"""`voicebot diarize`, `voicebot voices enroll|list|remove`, `voicebot meetings rename-speaker`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer
from rich.table import Table

from voicebot.cli.app import app, console, progress_bar, settings, sub_app
from voicebot.cli.archive import meetings_app
from voicebot.errors import UserError

voices_app = sub_app("voices", "Voiceprints: enroll a person's voice so meetings show their name.")


def _open():
    from voicebot.archive import open_archive

    return open_archive(settings())


@app.command("diarize")
def diarize_command(
    audio: Path = typer.Argument(..., help="Audio file (wav, flac, mp3, m4a, ogg, webm...)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the speaker turns to this RTTM file (default: print them)."),
    engine: str = typer.Option(None, "--engine", "-e", help="builtin (the best offline engine, default), overlap (segmentation-3.0 + CAM++, finds people talking at once), resemblyzer (the previous offline engine) or pyannote (needs its weights). Default: the setting diarize.engine."),
    num_speakers: int = typer.Option(None, "--num-speakers", "-n", min=1, help="The number of speakers, when known."),
    min_speakers: int = typer.Option(None, "--min-speakers", min=1, help="At least this many speakers."),
    max_speakers: int = typer.Option(None, "--max-speakers", min=1, help="At most this many speakers."),
) -> None:
    """Tell who spoke when: speaker turns as RTTM (SPEAKER_00, SPEAKER_01...)."""
    from voicebot import diarize
    from voicebot.audio import check_audio_path, duration_of
    from voicebot.fsutil import atomic_write
    from voicebot.schema import turns_to_rttm

    conf = settings()
    if engine:
        if engine not in diarize.ENGINES:
            raise UserError(f"unknown engine {engine!r}; use one of: {', '.join(diarize.ENGINES)}")
        conf.diarize.engine = engine
    total = duration_of(check_audio_path(audio)) or None
    with progress_bar("diarizing", total) as update:
        turns = diarize.diarize(audio, conf, num_speakers=num_speakers, min_speakers=min_speakers,
                                max_speakers=max_speakers,
                                progress=lambda step, done, _total: update(done))
    rttm = turns_to_rttm(turns, audio.stem)
    speakers = len({t.speaker for t in turns})
    if output:
        atomic_write(output, rttm)
        console.print(f"{speakers} speaker{'s' if speakers != 1 else ''}, {len(turns)} turns -> {output}")
    else:
        typer.echo(rttm, nl=False)


@voices_app.command("enroll")
def enroll(
    name: str = typer.Argument(..., help="The person's name, as it should appear in transcripts and minutes."),
    audio: Path = typer.Argument(..., help="A clip of this person alone speaking (10-30 s is best, 2 s at least)."),
    email: str = typer.Option(None, "--email", help="Their email address (the minutes are sent there)."),
    keep_audio: bool = typer.Option(False, "--keep-audio", help="Also keep a copy of the clip under <home>/voices/ (by default only the voiceprint, a vector of numbers, is stored)."),
) -> None:
    """Store a person's voiceprint so later meetings name them."""
    from voicebot.diarize import voiceprint

    vector = voiceprint(audio)
    with _open() as db:
        db.upsert_person(name, email=email, voiceprint=vector, source=f"enrolled from {audio.name}")
    kept = ""
    if keep_audio:
        from voicebot.recordings import slugify

        folder = settings().home / "voices"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{slugify(name, 40) or 'voice'}{audio.suffix.lower()}"
        shutil.copyfile(audio, target)
        kept = f"; clip kept at {target}"
    console.print(f"Enrolled {name}{f' <{email}>' if email else ''}: voiceprint stored{kept}.")


@voices_app.command("list")
def list_voices(
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """People and whether their voiceprint is enrolled."""
    with _open() as db:
        people = db.list_people()
    rows = [{"name": p["name"], "email": p.get("email"), "voiceprint": p["has_voiceprint"],
             "source": p.get("source"), "updated_at": p.get("updated_at")} for p in people]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print("Nobody enrolled yet: voicebot voices enroll NAME CLIP.WAV [--email E]")
        return
    table = Table("name", "email", "voiceprint", "source")
    for row in rows:
        table.add_row(row["name"], row["email"] or "", "yes" if row["voiceprint"] else "no", row["source"] or "")
    console.print(table)


@voices_app.command("upgrade")
def upgrade_voices() -> None:
    """Remake voiceprints enrolled with the previous speaker encoder (Resemblyzer) with the current one
    (CAM++), from kept clips or the meetings they came from; says who must record a clip again."""
    from voicebot.diarize.naming import upgrade_voiceprints

    with _open() as db:
        report = upgrade_voiceprints(db, settings().home, settings().recordings_dir)
    for name in report["upgraded"]:
        console.print(f"Upgraded the voiceprint of {name}.")
    if report["re-record"]:
        console.print("No clip or meeting left to remake these voiceprints (they still name their owner, less "
                      "surely): " + ", ".join(report["re-record"]) + ". Enroll them again: voicebot voices enroll "
                      "NAME CLIP.WAV")
    if not report["upgraded"] and not report["re-record"]:
        console.print("Every voiceprint is already up to date.")


@voices_app.command("remove")
def remove_voice(
    name: str = typer.Argument(..., help="The person whose voiceprint to delete (they stay in the archive)."),
) -> None:
    """Delete a person's voiceprint (and any clip kept with --keep-audio)."""
    from voicebot.recordings import slugify

    with _open() as db:
        if db.get_person(name) is None:
            raise UserError(f"nobody called {name!r} is known; `voicebot voices list` shows who is")
        removed = db.remove_voiceprint(name)
    folder = settings().home / "voices"
    clips = sorted(folder.glob(f"{slugify(name, 40)}.*")) if folder.is_dir() and slugify(name, 40) else []
    for clip in clips:
        clip.unlink()
    if removed or clips:
        console.print(f"Removed the voiceprint of {name}" + (f" and {len(clips)} kept clip(s)" if clips else "") + ".")
    else:
        console.print(f"{name} had no voiceprint; nothing removed.")


@meetings_app.command("rename-speaker")
def rename_speaker(
    meeting_id: str = typer.Argument(..., help="The meeting id (`voicebot meetings list` shows them)."),
    old: str = typer.Argument(..., help="The speaker as shown now, e.g. \"Speaker 2\"."),
    new: str = typer.Argument(..., help="Their real name, e.g. \"Claire\"."),
    enroll: bool = typer.Option(False, "--enroll", help="Also store this speaker's voice as NEW's voiceprint, so later meetings name them."),
) -> None:
    """Rename a speaker in a meeting: transcript, minutes, archive; optionally enroll their voice."""
    from voicebot.speakers import rename_speaker as rename

    with _open() as db:
        done = rename(db, meeting_id, old, new, enroll=enroll)
    console.print(f"Renamed {old!r} to {done.new!r} in {meeting_id}: {done.segments} archived segments"
                  + (f", files: {', '.join(done.files)}" if done.files else "")
                  + ("; voiceprint enrolled" if done.enrolled else "") + ".")
