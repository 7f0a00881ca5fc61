"""A transcript as text a person or a player reads: txt, srt, vtt, json.

Used by ``voicebot transcribe --format``, ``voicebot meetings export``, mail
attachments and the web downloads, so every place renders the same way.
"""

from __future__ import annotations

from voicebot import schema

FORMATS = ("txt", "json", "srt", "vtt")


def clock(seconds: float, *, millis: bool = False, sep: str = ".") -> str:
    """12.5 -> "0:12" (or "00:00:12.500" with millis, sep="," for SRT)."""
    seconds = max(0.0, seconds)
    if millis:
        total_ms = int(round(seconds * 1000))
        h, rest = divmod(total_ms, 3_600_000)
        m, rest = divmod(rest, 60_000)
        s, ms = divmod(rest, 1000)
        return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def parse_clock(text: str) -> float:
    """ "12:34" -> 754.0, "1:02:03" -> 3723.0, "75" -> 75.0; ValueError otherwise."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.replace(".", "", 1).isdigit() for p in parts):
        raise ValueError(f"{text!r} is not a time like 12:34 or 1:02:03")
    value = 0.0
    for part in parts:
        value = value * 60 + float(part)
    return value


def _who(segment: schema.Segment) -> str:
    return f"{segment.speaker}: " if segment.speaker else ""


def to_txt(transcript: schema.Transcript, *, timestamps: bool = True) -> str:
    lines = []
    for seg in transcript.segments:
        stamp = f"[{clock(seg.start)}] " if timestamps else ""
        lines.append(f"{stamp}{_who(seg)}{seg.text.strip()}")
    return "\n".join(lines) + ("\n" if lines else "")


def _cues(transcript: schema.Transcript, sep: str) -> list[str]:
    cues = []
    for seg in transcript.segments:
        cues.append(f"{clock(seg.start, millis=True, sep=sep)} --> {clock(seg.end, millis=True, sep=sep)}\n"
                    f"{_who(seg)}{seg.text.strip()}\n")
    return cues


def to_srt(transcript: schema.Transcript) -> str:
    return "\n".join(f"{i}\n{cue}" for i, cue in enumerate(_cues(transcript, ","), start=1))


def to_vtt(transcript: schema.Transcript) -> str:
    return "WEBVTT\n\n" + "\n".join(_cues(transcript, "."))


def render(transcript: schema.Transcript, fmt: str) -> str:
    if fmt == "json":
        return schema.dumps(transcript)
    if fmt == "txt":
        return to_txt(transcript)
    if fmt == "srt":
        return to_srt(transcript)
    if fmt == "vtt":
        return to_vtt(transcript)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
