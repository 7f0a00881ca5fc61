"""Erasing files for real: the meeting folders, mail copies, and names in artifacts.

Files are overwritten with zeros before they are unlinked, so their content
is not left in the blocks of an ordinary (ext4, non copy-on-write) file
system; on SSDs and copy-on-write file systems (btrfs, ZFS) only full-disk
encryption guarantees that, which is said in the README.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable

from voicebot.fsutil import atomic_write
from voicebot.textfold import fold  # archive.store imports it from here too

_CHUNK = 1 << 20
TEXT_SUFFIXES = {".json", ".md", ".txt", ".rttm", ".srt", ".vtt", ".eml", ".ics", ".html"}


def shred_file(path: Path) -> int:
    """Overwrite a regular file with zeros, sync, unlink it; its former size."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        path.unlink(missing_ok=True)
        return 0
    size = path.stat().st_size
    try:
        with open(path, "r+b", buffering=0) as fh:
            zeros = bytes(min(size, _CHUNK))
            left = size
            while left > 0:
                left -= fh.write(zeros[:min(left, _CHUNK)])
            os.fsync(fh.fileno())
    except PermissionError:
        pass  # still unlink below: a read-only file in our own folder
    path.unlink()
    return size


def shred_tree(directory: Path) -> tuple[int, int]:
    """Shred every file under a folder and remove it; (files, bytes)."""
    directory = Path(directory)
    if directory.is_symlink():
        directory.unlink()
        return 0, 0
    if not directory.is_dir():
        return 0, 0
    files = size = 0
    for root, dirs, names in os.walk(directory, topdown=False):
        for name in names:
            size += shred_file(Path(root) / name)
            files += 1
        for name in dirs:
            sub = Path(root) / name
            if sub.is_symlink():
                sub.unlink()
            else:
                sub.rmdir()
    directory.rmdir()
    return files, size


def tree_size(directory: Path, keep: Iterable[str] = ()) -> tuple[int, int]:
    """(files, bytes) under a folder, not counting the top-level names in ``keep``."""
    keep = set(keep)
    files = size = 0
    if not Path(directory).is_dir():
        return 0, 0
    for root, _, names in os.walk(directory):
        for name in names:
            path = Path(root) / name
            if Path(root) == Path(directory) and name in keep:
                continue
            if path.is_file() and not path.is_symlink():
                files += 1
                size += path.stat().st_size
    return files, size


def shred_except(directory: Path, keep: Iterable[str]) -> tuple[int, int]:
    """Shred everything in a folder but the top-level names in ``keep``; (files, bytes)."""
    keep = set(keep)
    files = size = 0
    directory = Path(directory)
    if not directory.is_dir():
        return 0, 0
    for entry in directory.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            f, s = shred_tree(entry)
        else:
            f, s = 1, shred_file(entry)
        files += f
        size += s
    return files, size


# --- mail copies ----------------------------------------------------------------


def message_text(raw: bytes) -> str:
    """Headers and every text part of a message, decoded (for deciding what it mentions)."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:  # a broken message: look at its bytes
        return raw.decode("utf-8", "replace")
    parts = [f"{k}: {v}" for k, v in msg.items()]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            try:
                parts.append(part.get_content())
            except Exception:
                parts.append(part.get_payload(decode=True).decode("utf-8", "replace"))
    return "\n".join(parts)


def header_of(raw: bytes, name: str) -> str | None:
    """One header of a raw message (Message-ID, X-Voicebot-Meeting...), stripped; None if absent."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    value = msg.get(name)
    return str(value).strip() if value else None


def remove_mail(maildir: Path, match: Callable[[bytes], bool]) -> int:
    """Shred the messages of a Maildir (new/, cur/, tmp/) for which ``match(raw)`` is true."""
    removed = 0
    for sub in ("new", "cur", "tmp"):
        folder = Path(maildir) / sub
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.is_file() and match(path.read_bytes()):
                shred_file(path)
                removed += 1
    return removed


# --- names in artifacts ---------------------------------------------------------


def name_tokens(needles: Iterable[str]) -> set[str]:
    """The folded words of names and emails ("Zoé Martin", "zoe@x.org" -> zoe, martin, x, org)."""
    return {fold(part) for needle in needles if needle for part in re.findall(r"\w+", needle)}


def is_name_word(word: str, tokens: set[str]) -> bool:
    """A transcript word (" Martin," or " zoe@x.org") that is, or holds, one of the name tokens."""
    return any(fold(part) in tokens for part in re.findall(r"\w+", word))


def name_pattern(needles: Iterable[str], *, ignore_case: bool = True) -> re.Pattern[str] | None:
    """A pattern of whole-word occurrences of any of the needles."""
    needles = sorted({n.strip() for n in needles if n and n.strip()}, key=len, reverse=True)
    if not needles:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in needles) + r")(?!\w)",
                      re.IGNORECASE if ignore_case else 0)


def redact_value(value: Any, pattern: re.Pattern[str], label: str) -> Any:
    """Replace the pattern in every string (and key) of JSON-like data."""
    if isinstance(value, str):
        return pattern.sub(label, value)
    if isinstance(value, list):
        return [redact_value(v, pattern, label) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            new_key = pattern.sub(label, key) if isinstance(key, str) else key
            item = redact_value(item, pattern, label)
            if new_key in out and isinstance(out[new_key], (int, float)) and isinstance(item, (int, float)):
                out[new_key] += item  # talk_time of two names merged into one label
            else:
                out[new_key] = item
        return out
    return value


def redact_segments(segments: list[Any], pattern: re.Pattern[str], tokens: set[str]) -> None:
    """In transcript segments whose text mentions the pattern, drop the word timings of the name."""
    for seg in segments:
        if isinstance(seg, dict) and isinstance(seg.get("text"), str) and pattern.search(seg["text"]) \
                and isinstance(seg.get("words"), list):
            seg["words"] = [w for w in seg["words"]
                            if not (isinstance(w, dict) and is_name_word(str(w.get("word", "")), tokens))]


def redact_directory(directory: Path, pattern: re.Pattern[str], label: str, *, tokens: set[str] = frozenset(),
                     drop_segments_of: set[str] | None = None) -> int:
    """Rewrite the text artifacts of a meeting folder with the pattern replaced; files changed.

    ``tokens``: the name's words, removed from the word timings of segments that mention it.
    ``drop_segments_of``: also remove transcript segments spoken by these labels
    (a transcript JSON's ``segments`` list)."""
    changed = 0
    if not Path(directory).is_dir():
        return 0
    for root, _, names in os.walk(directory):
        for name in names:
            path = Path(root) / name
            if path.suffix.lower() not in TEXT_SUFFIXES or path.is_symlink():
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            new_text = text
            if path.suffix.lower() == ".json":
                try:
                    data = json.loads(text)
                except ValueError:
                    data = None
                if data is not None:
                    if isinstance(data, dict) and isinstance(data.get("segments"), list):
                        if drop_segments_of:
                            data["segments"] = [s for s in data["segments"] if not (
                                isinstance(s, dict) and s.get("speaker") in drop_segments_of)]
                        redact_segments(data["segments"], pattern, tokens)
                    data = redact_value(data, pattern, label)
                    new_text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
                    if json.loads(new_text) == json.loads(text):
                        new_text = text
            else:
                new_text = pattern.sub(label, text)
            if new_text != text:
                replace_file(path, new_text)
                changed += 1
    return changed


def replace_file(path: Path, data: str | bytes) -> None:
    """Atomically replace a file, then zero the old content's blocks (a crash leaves old or new)."""
    path = Path(path)
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    try:
        os.link(path, old)
    except OSError:
        old = None
    atomic_write(path, data)
    if old is not None:
        shred_file(old)
