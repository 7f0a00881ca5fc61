"""`voicebot search`, `meetings list|show|export|forget`, `people list|forget`, `purge`."""

from __future__ import annotations

import json

import pytest
from archive_samples import PLANNING_EN, WEEKLY_FR, minutes_for, store_meeting
from conftest import run_cli
from typer.testing import CliRunner

from voicebot import recordings, schema
from voicebot.archive import open_archive
from voicebot.cli import app
from voicebot.config import load_settings

M1 = "20261103-093000-hebdo-a1b2"
M2 = "20261110-140000-roadmap-c3d4"


@pytest.fixture
def filled(home):
    with open_archive(load_settings()) as db:
        store_meeting(db, home, M1, "Réunion hebdo", "2026-11-03T09:30:00+01:00", WEEKLY_FR)
        store_meeting(db, home, M2, "Quarterly roadmap", "2026-11-10T14:00:00+01:00", PLANNING_EN, language="en")
        minutes = minutes_for("Réunion hebdo", "2026-11-03", ["Zoé Martin"], "Le budget Hélios est à valider.")
        db.save_minutes(M1, minutes, "# Réunion hebdo\n\nLe budget Hélios est à valider.\n")
        db.upsert_person("Zoé Martin", email="zoe@example.org", voiceprint=[0.5] * 8)
    return home


def cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env=env)


def cli_error(*args: str, env: dict | None = None) -> str:
    """The UserError a command ends with (the shell shows it as one line, exit 2: see run_cli tests)."""
    from voicebot.errors import UserError

    result = CliRunner().invoke(app, list(args), env=env)
    assert isinstance(result.exception, UserError), (result.exception, result.output)
    return str(result.exception)


def test_search_shows_where_and_how_to_open_each_hit(filled):
    result = cli("search", "helios")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Réunion hebdo" in out and "2026-11-03 09:30" in out and "Karim Benali" in out and "at 0:06" in out
    assert "[Hélios]" in out  # highlighted (brackets when not on a terminal)
    assert f"voicebot meetings show {M1} --at 0:06" in out


def test_search_json_and_filters(filled):
    hits = json.loads(cli("search", "budget", "--json").output)
    assert {h["meeting_id"] for h in hits} == {M1, M2}
    assert {"meeting_id", "title", "started_at", "speaker", "start", "end", "text", "snippet", "score"} <= set(hits[0])
    only = json.loads(cli("search", "budget", "--json", "--speaker", "bob", "--since", "2026-11-05").output)
    assert [h["speaker"] for h in only] == ["Bob Stone"]
    assert json.loads(cli("search", "budget", "--json", "--meeting", "20261103", "-n", "5").output)[0]["meeting_id"] == M1
    assert json.loads(cli("search", "nothing-like-this", "--json").output) == []
    assert "No match" in cli("search", "nothing-like-this").output


def test_hostile_queries_and_bad_options_from_the_shell(filled):
    for query in ['"unclosed AND (', "'; DROP TABLE meetings; --", "*", "-", "😀", "NEAR(a b)", "\\"]:
        result = cli("search", query)
        assert result.exit_code == 0, (query, result.output)
    result = run_cli("search", "budget", "--since", "last tuesday")
    assert result.returncode == 2 and "not a date" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no meeting" in cli_error("meetings", "show", "nope")
    assert "12:34" in cli_error("meetings", "show", M1, "--at", "soon")


def test_meetings_list_show_and_show_at(filled):
    out = cli("meetings", "list").output
    assert out.index(M2) < out.index(M1) and "Quarterly roadmap" in out and "transcript+minutes" in out
    listed = json.loads(cli("meetings", "list", "--json", "--until", "2026-11-05").output)
    assert [m["id"] for m in listed] == [M1] and listed[0]["speakers"][0] == "Zoé Martin"
    out = cli("meetings", "show", M1).output
    assert "Réunion hebdo" in out and "Le budget Hélios est à valider." in out  # the minutes' summary
    assert out.count("[0:") == len(WEEKLY_FR)
    around = cli("meetings", "show", "20261103", "--at", "0:13", "--context", "7").output
    assert "▶ [0:12] Zoé Martin: D'accord" in around
    assert "[0:06]" in around and "[0:18]" in around and "[0:30]" not in around
    assert "index rebuilt" in cli("meetings", "reindex").output
    assert json.loads(cli("search", "helios", "--json").output)


@pytest.mark.parametrize("fmt", ["txt", "md", "srt", "vtt", "json"])
def test_meetings_export(filled, fmt, tmp_path):
    out = cli("meetings", "export", M1, "--format", fmt).output
    if fmt == "json":
        assert schema.Transcript.from_dict(json.loads(out)).segments[0].speaker == "Zoé Martin"
    elif fmt == "srt":
        assert out.startswith("1\n00:00:00,000 --> 00:00:05,500\nZoé Martin: Bonjour")
    elif fmt == "vtt":
        assert out.startswith("WEBVTT") and "00:00:06.000 --> 00:00:11.500" in out
    elif fmt == "md":
        assert out.startswith("# Réunion hebdo") and "## Transcript" in out and "**Karim Benali**" in out
    else:
        assert out.startswith("[0:00] Zoé Martin: Bonjour à tous")
    target = tmp_path / f"export.{fmt}"
    assert cli("meetings", "export", M1, "-f", fmt, "-o", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8") == out


def test_forget_asks_first_then_erases(filled):
    result = run_cli("meetings", "forget", M1)  # no TTY, no --yes: refused, nothing changed
    assert result.returncode == 2 and "--yes" in result.stderr
    assert (filled / "recordings" / M1).is_dir()
    result = cli("meetings", "forget", M1, "--yes")
    assert result.exit_code == 0 and "Forgotten" in result.output
    assert not (filled / "recordings" / M1).exists()
    assert json.loads(cli("search", "Hélios", "--json").output) == []
    assert "no meeting" in cli_error("meetings", "forget", "2099", "--yes")
    assert (filled / "recordings" / M2).is_dir()


def test_people_list_and_forget(filled):
    out = cli("people", "list").output
    assert "Zoé Martin" in out and "zoe@example.org" in out and "yes (8)" in out
    people = json.loads(cli("people", "list", "--json").output)
    assert people[0]["has_voiceprint"] and "voiceprint" not in people[0]
    result = cli("people", "forget", "Zoé Martin", "--yes")
    assert result.exit_code == 0 and "3 segments relabelled" in result.output
    assert json.loads(cli("people", "list", "--json").output) == []
    hits = json.loads(cli("search", "bonjour", "--json").output)
    assert hits[0]["speaker"] == "[forgotten]"


def test_purge_from_settings_and_options(filled, monkeypatch):
    assert "--older-than" in cli_error("purge")
    report = json.loads(cli("purge", "--older-than", "1d", "--dry-run", "--json").output)
    assert report["dry_run"] and {m["id"] for m in report["meetings"]} == {M1, M2}
    assert (filled / "recordings" / M1 / recordings.AUDIO).exists()
    assert "--yes" in cli_error("purge", "--older-than", "1d")  # needs --yes without a TTY
    done = run_cli("purge", "--yes", env={"VOICEBOT_RETENTION_OLDER_THAN": "1d"})  # the setting, from cron
    assert done.returncode == 0 and "Erased 2 meetings" in done.stdout
    assert not (filled / "recordings" / M1 / recordings.AUDIO).exists()
    assert (filled / "recordings" / M1 / recordings.MEETING_JSON).exists()  # minutes kept by default
    assert "minutes" in cli("meetings", "list").output
    assert "Nothing to purge" in cli("purge", "--older-than", "1d", "--yes").output
    assert cli("purge", "--older-than", "1d", "--delete-minutes", "--yes").exit_code == 0
    assert not (filled / "recordings" / M1).exists()
    assert json.loads(cli("meetings", "list", "--json").output) == []
    assert "90d" in cli_error("purge", "--older-than", "ninety")


@pytest.mark.slow
def test_search_on_postgresql_from_the_shell(home, postgres_url):
    env = {"VOICEBOT_DATABASE_URL": postgres_url}
    settings = load_settings({"VOICEBOT_HOME": str(home), **env})
    with open_archive(settings) as db:
        store_meeting(db, home, M1, "Réunion hebdo", "2026-11-03T09:30:00+01:00", WEEKLY_FR)
    result = run_cli("search", "helios", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["speaker"] == "Karim Benali"
    bad = run_cli("search", "x", env={"VOICEBOT_DATABASE_URL": "postgresql://nobody:s3cret@127.0.0.1:1/none"})
    assert bad.returncode == 2 and "cannot connect to PostgreSQL" in bad.stderr and "s3cret" not in bad.stderr
