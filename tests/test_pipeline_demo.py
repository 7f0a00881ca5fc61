"""`make demo`, the README's quick start (scripts/demo.sh behind it): no configuration, its own
re-runnable demo home, and the path from the Makefile to the script that broke once (a relative
.venv/bin/voicebot that demo.sh could not find after changing folder)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scripts" / "demo.sh"


def run_demo(demo_home: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DEMO)], env={**os.environ, "DEMO_HOME": str(demo_home), **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=1200)


def make_demo(demo_home: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``make demo`` as the README writes it, run from another folder with make -C."""
    return subprocess.run(["make", "-C", str(ROOT), "demo"], env={**os.environ, "DEMO_HOME": str(demo_home), **env},
                          cwd=cwd, capture_output=True, text=True, timeout=1800)


def test_the_demo_will_not_empty_a_folder_that_is_not_its_own(tmp_path):
    precious = tmp_path / "precious"
    (precious / "recordings").mkdir(parents=True)
    result = run_demo(precious, tmp_path)
    assert result.returncode == 2 and "is not a demo home" in result.stderr
    assert (precious / "recordings").is_dir()


@pytest.mark.slow
def test_the_demo_runs_the_sample_meeting_with_no_configuration(tmp_path, models_with_llm):
    demo_home = tmp_path / "demo-home"
    demo_home.mkdir()
    (demo_home / ".voicebot-demo").touch()  # as a previous run left it, with its model and its last meeting
    (demo_home / "models").symlink_to(models_with_llm, target_is_directory=True)
    (demo_home / "outbox" / "new").mkdir(parents=True)
    (demo_home / "outbox" / "new" / "old.eml").write_text("Subject: an earlier run\n")
    (demo_home / "recordings" / "20200101-000000-old-0000").mkdir(parents=True)
    (tmp_path / "voicebot.toml").write_text('[smtp]\nurl = "smtp://127.0.0.1:9"\n')  # ignored: no configuration
    result = make_demo(demo_home, tmp_path, VOICEBOT_SMTP_URL="smtp://127.0.0.1:9", VOICEBOT_HOME=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert out.count("Enrolled ") == 4 and "Enrolled David <david@example.org>" in out
    assert "# Website launch weekly meeting" in out and "## Decisions" in out and "Blue Cloud" in out
    # the enrolled voices name the three people heard; David, invited and enrolled, is not heard
    assert "**Present:** Alice, Bob, Carol" in out and "**Absent:** David" in out
    # The minutes come from the local language model; owners and due dates from the transcript.
    assert "Drafted by the language model qwen2.5-coder-1.5b-instruct" in out
    assert re.search(r"^\| Bob \| [^|\n]*contract[^|\n]* \| Tue 17 Mar 2026 \|", out, re.M), out
    assert "sent to: alice@example.org, bob@example.org, carol@example.org" in out
    assert "'you missed it' version sent to: david@example.org" in out
    mailed = dict(re.findall(r"^To: (.+)\n +Subject: (Minutes|You missed)\b", out, re.M))
    assert mailed == {"Alice <alice@example.org>": "Minutes", "Bob <bob@example.org>": "Minutes",
                      "Carol <carol@example.org>": "Minutes", "David <david@example.org>": "You missed"}, out
    assert "[Blue Cloud]" in out  # the search found what was said
    emails = sorted(p.name for p in (demo_home / "outbox" / "new").iterdir())
    assert len(emails) == 4 and "old.eml" not in emails
    [meeting] = [p.name for p in (demo_home / "recordings").iterdir()]
    assert meeting.startswith("20260312-") and f"meeting: {meeting}" in out
