"""What the pages and the JSON API show: the dashboard's facts (those of `voicebot status`),
meetings with their minutes and transcript, the audio with Range requests, downloads,
search with its filters, renaming a speaker; and the OpenAPI description.

The real application, in-process, over the home of web_helpers.seed (the English sample
meeting with its real audio, the French sample transcript, a meeting with hostile text)."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime

import pytest
from web_helpers import EN_ID, FR_ID, HOSTILE_ID, SAMPLES, UNNAMED, app_client, csrf_of, login, settings_of


@pytest.fixture
def http(web_home):
    with app_client(web_home) as client:
        login(client)
        yield client


def _open(home):
    from voicebot.archive import open_archive

    return open_archive(settings_of(home))


def test_status_shows_the_facts_of_voicebot_status(http, web_home):
    from voicebot import health

    with _open(web_home) as db:
        db.set_stage(FR_ID, "transcribe", "done")
        db.set_stage(FR_ID, "send", "failed", error="SMTP 550 mailbox unavailable")
        db.add_incident(FR_ID, "send", "SMTP 550 <mailbox> unavailable", "after 8 attempts")
    expected = health.status(settings_of(web_home), datetime.now().astimezone())
    status = http.get("/api/status").json()
    for key in ("meetings_total", "recorded_today", "processed_today", "processed_this_week", "jobs_failed",
                "jobs_running", "outbox_pending", "outbox_failed", "hours_transcribed", "incidents_this_week",
                "recording_now", "recordings_bytes"):
        assert status["stats"][key] == expected[key], key
    assert status["stats"]["recordings_bytes"] > (SAMPLES / "meeting-en.flac").stat().st_size
    assert status["stats"]["meetings_total"] == 3 and status["stats"]["processed_this_week"] == 3
    assert status["stats"]["jobs_failed"] == 1
    weeks = status["weeks"]
    assert len(weeks) == 12 and weeks[-1]["processed"] == 3 and weeks[-1]["hours"] > 0
    assert sum(w["recorded"] for w in weeks) == 0  # the samples were recorded in March 2026
    assert [j["meeting_id"] for j in status["jobs"]] == [FR_ID]
    job = status["jobs"][0]
    assert (job["stage"], job["state"], job["error"]) == ("send", "failed", "SMTP 550 mailbox unavailable")
    assert job["title"] == "Préparation du salon de Lyon"
    assert status["incidents"][0]["error"] == "SMTP 550 <mailbox> unavailable"
    assert [m["id"] for m in status["recent"]] == [EN_ID, FR_ID, HOSTILE_ID]
    page = http.get("/").text
    assert "SMTP 550 &lt;mailbox&gt; unavailable" in page and f'href="/meetings/{FR_ID}"' in page
    assert re.search(r"<h2>Processed</h2><p class=\"big\">3</p>", page)
    assert '<title id="chart-title">' in page and "3 processed" in page
    assert "send: failed" in page and "voicebot resume" in page and "GB free" in page


def test_meetings_list_and_filters(http):
    cards = http.get("/api/meetings").json()
    assert [c["id"] for c in cards] == [EN_ID, FR_ID, HOSTILE_ID]
    english = cards[0]
    assert english["has_transcript"] and english["has_minutes"] and english["url"] == f"/meetings/{EN_ID}"
    assert {p["name"] for p in english["invitees"]} == {"Alice", "Bob", "Carol", "David"}
    assert "directory" not in english  # the server's folders are not shown
    assert [c["id"] for c in http.get("/api/meetings", params={"since": "2026-03-11"}).json()] == [EN_ID, FR_ID]
    assert [c["id"] for c in http.get("/api/meetings", params={"until": "2026-03-10"}).json()] == [HOSTILE_ID]
    assert http.get("/api/meetings", params={"since": "last tuesday"}).status_code == 400
    page = http.get("/meetings", params={"since": "2026-03-11", "until": "2026-03-11"}).text
    assert FR_ID in page and EN_ID not in page
    soon = http.get("/meetings", params={"since": "soon"})
    assert soon.status_code == 400 and "is not a date" in soon.text


def test_meeting_detail_minutes_and_moments(http):
    from voicebot.web.views import moment_param

    assert moment_param(754.0) == "754" and moment_param(56.6034) == "56.603" and moment_param(0.5) == "0.5"
    detail = http.get(f"/api/meetings/{EN_ID}").json()
    assert detail["audio_url"] == f"/meetings/{EN_ID}/audio"
    assert set(detail["downloads"]) == {"txt", "srt", "vtt", "json", "md"}
    assert detail["speakers"] == ["Alice", "Bob", UNNAMED]
    assert detail["talk_time"]["Alice"] > detail["talk_time"]["Bob"] > 0
    minutes = detail["minutes"]
    assert detail["minutes_version"] == 1 and minutes["language"] == "en"
    assert detail["talk_time"] == pytest.approx(minutes["talk_time"], abs=0.05)  # the page and the minutes agree
    expected = json.loads((SAMPLES / "meeting-en.expected.json").read_text())
    assert len(minutes["decisions"]) == len(expected["decisions"])
    owners = {a["owner"]: a for a in minutes["action_items"]}
    assert owners["Bob"]["due"] == "2026-03-17" and owners["Bob"]["source_start"] > 0
    page = http.get(f"/meetings/{EN_ID}").text
    # every decision and action item links to its moment, which plays from there
    for item in minutes["decisions"] + minutes["action_items"]:
        assert f'href="?t={moment_param(item["source_start"])}" data-seek="{item["source_start"]:.3f}"' in page
    assert "Send the signed contract to Blue Cloud" in page and '<time datetime="2026-03-17">' in page
    assert f'<audio id="player" controls preload="metadata" src="/meetings/{EN_ID}/audio"' in page
    segments = len(json.loads((SAMPLES / "meeting-en.transcript.json").read_text())["segments"])
    assert page.count('<li id="seg-') == segments and 'class="line current"' not in page
    # opened at a moment: that line is marked, and the player starts there
    at = http.get(f"/meetings/{EN_ID}", params={"t": "0:30"}).text
    current = re.search(r'<li id="seg-(\d+)" class="line current" data-start="([\d.]+)" data-end="([\d.]+)"', at)
    assert current and float(current.group(2)) <= 30 < float(current.group(3))
    assert 'data-start-at="30.000"' in at
    assert 'class="line current"' not in http.get(f"/meetings/{EN_ID}", params={"t": "soon"}).text
    # the French meeting: no audio, minutes in French
    french = http.get(f"/meetings/{FR_ID}").text
    assert "No audio for this meeting" in french and "<h3>Décisions</h3>" in french and "Résumé" in french
    assert http.get(f"/api/meetings/{FR_ID}").json()["audio_url"] is None


def test_talk_time_is_counted_once_for_the_page_and_the_minutes():
    from voicebot import schema
    from voicebot.minutes.people import gather, talk_time

    transcript = schema.Transcript("en", 30.0, "m", "e", segments=[
        schema.Segment(0.0, 10.0, "Hello everyone.", speaker="SPEAKER_00"),
        schema.Segment(10.0, 18.0, "  ", speaker="SPEAKER_00"),  # nothing said: not talk time
        schema.Segment(18.0, 30.0, "Thanks, Alice.", speaker="SPEAKER_01"),
    ])
    assert transcript.talk_time() == {"SPEAKER_01": 12.0, "SPEAKER_00": 10.0}  # what the meeting page shows
    people = gather(transcript, None, {"labels": {"SPEAKER_00": {"name": "Alice"}, "SPEAKER_01": None}})
    assert talk_time(transcript, people) == {"SPEAKER_01": 12.0, "Alice": 10.0}  # the minutes: the same, named


def test_unknown_meetings(http):
    for meeting_id in ("20990101-000000-nothing-0000", "not-an-id", "..%2F..%2Fvoicebot.db"):
        page = http.get(f"/meetings/{meeting_id}", headers={"Accept": "text/html"})
        assert page.status_code == 404 and "Not found" in page.text
        assert http.get(f"/api/meetings/{meeting_id}").status_code == 404
        assert http.get(f"/meetings/{meeting_id}/audio").status_code == 404
        assert http.get(f"/meetings/{meeting_id}/transcript.txt").status_code == 404
    assert http.get(f"/meetings/{EN_ID}/transcript.docx").status_code == 404
    assert http.get(f"/meetings/{FR_ID}/audio").json()["detail"].endswith("is not there (yet)")


def test_downloads_are_the_archive_exports(http, web_home):
    from voicebot import formats

    with _open(web_home) as db:
        transcript = db.get_transcript(EN_ID)
        markdown = db.get_minutes(EN_ID)["markdown"]
    types = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt", "json": "application/json"}
    for fmt, kind in types.items():
        response = http.get(f"/meetings/{EN_ID}/transcript.{fmt}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
        assert response.headers["content-disposition"] == f'attachment; filename="{EN_ID}.{fmt}"'
        assert response.text == formats.render(transcript, fmt)
    assert http.get(f"/api/meetings/{EN_ID}/transcript").json() == json.loads(formats.render(transcript, "json"))
    minutes = http.get(f"/meetings/{EN_ID}/minutes.md")
    assert minutes.text == markdown and minutes.headers["content-type"].startswith("text/markdown")
    assert "## Decisions" in minutes.text
    assert http.get(f"/api/meetings/{EN_ID}/minutes").json()["title"] == "Website launch weekly meeting"
    assert http.get(f"/api/meetings/{EN_ID}/minutes", params={"version": 9}).status_code == 404


def test_audio_answers_range_requests(http):
    import soundfile

    data = (SAMPLES / "meeting-en.flac").read_bytes()
    whole = http.get(f"/meetings/{EN_ID}/audio")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "audio/flac" and whole.headers["accept-ranges"] == "bytes"
    samples, rate = soundfile.read(io.BytesIO(whole.content))
    duration = json.loads((SAMPLES / "meeting-en.transcript.json").read_text())["duration"]
    assert rate == 16000 and abs(len(samples) / rate - duration) < 0.01
    part = http.get(f"/meetings/{EN_ID}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    tail = http.get(f"/meetings/{EN_ID}/audio", headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    middle = len(data) // 2
    seek = http.get(f"/meetings/{EN_ID}/audio", headers={"Range": f"bytes={middle}-"})
    assert seek.status_code == 206 and seek.content == data[middle:]
    assert http.get(f"/meetings/{EN_ID}/audio", headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


def test_search_with_filters(http):
    from voicebot.web.views import moment_param

    hits = http.get("/api/search", params={"q": "launch"}).json()
    assert hits and all(h["meeting_id"] == EN_ID for h in hits)
    first = hits[0]
    assert first["url"] == f"/meetings/{EN_ID}?t={moment_param(first['start'])}" and "[launch]" in first["snippet"].lower()
    assert any(is_hit for _, is_hit in first["fragments"])
    said_by_bob = http.get("/api/search", params={"q": "Blue Cloud", "speaker": "bob"}).json()
    assert said_by_bob and {h["speaker"] for h in said_by_bob} == {"Bob"}
    everyone = http.get("/api/search", params={"q": "Blue Cloud"}).json()
    assert len(everyone) > len(said_by_bob)
    assert http.get("/api/search", params={"q": "salon"}).json()  # the French meeting
    assert http.get("/api/search", params={"q": "salon", "meeting": EN_ID}).json() == []
    assert http.get("/api/search", params={"q": "salon", "meeting": FR_ID[:20]}).json()  # an id's beginning
    assert http.get("/api/search", params={"q": "salon", "until": "2026-03-10"}).json() == []
    assert http.get("/api/search", params={"q": "salon", "since": "2026-03-11", "until": "2026-03-11"}).json()
    assert http.get("/api/search", params={"q": "salon", "meeting": "2099"}).status_code == 400
    for hostile in ('"', "(", "*", "-", "OR", "NEAR(a b)", "a:b", "'; DROP TABLE segments; --", "é" * 300):
        assert http.get("/api/search", params={"q": hostile}).status_code == 200, hostile
    assert {"Alice", "Bob", UNNAMED, "Zoé"} <= set(http.get("/api/speakers").json())
    page = http.get("/search", params={"q": "launch date", "speaker": "alice"}).text
    assert f'href="/meetings/{EN_ID}?t=' in page and "<mark>launch date</mark>" in page
    assert 'value="alice"' in page and "1 result, best first." in page
    empty = http.get("/search", params={"q": "zeppelin"}).text
    assert "0 results" in empty
    wrong = http.get("/search", params={"q": "launch", "since": "yesterday-ish"})
    assert wrong.status_code == 400 and "is not a date" in wrong.text


def test_rename_a_speaker_from_the_page(http, web_home):
    from voicebot import recordings, schema

    page = http.get(f"/meetings/{EN_ID}")
    token = csrf_of(page.text)
    assert f'<input type="hidden" name="old" value="{UNNAMED}">' in page.text
    done = http.post(f"/meetings/{EN_ID}/rename-speaker", data={"old": UNNAMED, "new": "  Carol   ", "csrf_token": token})
    assert done.status_code == 303
    after = http.get(f"/meetings/{EN_ID}").text
    assert "Renamed Speaker 1 to Carol (3 transcript lines)." in after
    again = http.get(f"/meetings/{EN_ID}").text  # the message is shown once
    assert "Renamed Speaker 1" not in again and f'">{UNNAMED}</span>' not in again
    assert again.count('class="speaker sp-2">Carol</span>') == 4  # 3 lines + the speaker list
    folder = settings_of(web_home).recordings_dir / EN_ID
    on_disk = schema.Transcript.from_dict(schema.read_json(folder / recordings.TRANSCRIPT))
    assert on_disk.speakers == ["Alice", "Bob", "Carol"]
    assert schema.read_json(folder / recordings.SPEAKERS)["labels"]["SPEAKER_02"]["name"] == "Carol"
    with _open(web_home) as db:
        assert db.get_transcript(EN_ID).speakers == ["Alice", "Bob", "Carol"]
        assert "Carol" in db.get_meeting(EN_ID)["speakers"]
        stored = db.get_minutes(EN_ID)
    # the minutes follow: Carol, an invitee listed absent while her voice was unknown, is present now
    on_disk_minutes = schema.Minutes.from_dict(schema.read_json(folder / recordings.MINUTES_JSON))
    for minutes, markdown in ((on_disk_minutes, (folder / recordings.MINUTES_MD).read_text()),
                              (stored["minutes"], stored["markdown"])):
        assert "Carol" in minutes.present and "Carol" not in minutes.absent and "Carol" in minutes.talk_time
        assert UNNAMED not in schema.dumps(minutes) and UNNAMED not in markdown
    assert stored["markdown"] == (folder / recordings.MINUTES_MD).read_text()
    # errors come back as a message on the page, nothing changed
    for form, message in (({"old": "Nobody", "new": "X"}, "no speaker &#39;Nobody&#39;"),
                          ({"old": "Carol", "new": "   "}, "the new speaker name is empty"),
                          ({"old": "Carol", "new": "x" * 200}, "at most 120 characters")):
        http.post(f"/meetings/{EN_ID}/rename-speaker", data={**form, "csrf_token": token})
        assert message in http.get(f"/meetings/{EN_ID}").text
    with _open(web_home) as db:
        assert db.get_transcript(EN_ID).speakers == ["Alice", "Bob", "Carol"]
    api = f"/api/meetings/{EN_ID}/speakers/rename"
    headers = {"X-CSRF-Token": token}
    assert http.post(api, json={"old": "Nobody", "new": "X"}, headers=headers).status_code == 400
    assert http.post(api, json={"old": "Carol"}, headers=headers).status_code == 422
    assert http.post("/api/meetings/20990101-000000-nothing-0000/speakers/rename", json={"old": "a", "new": "b"},
                     headers=headers).status_code == 404
    renamed = http.post(api, json={"old": "Bob", "new": "Robert"}, headers=headers).json()
    bob = json.loads((SAMPLES / "meeting-en.transcript.json").read_text())["segments"]
    assert renamed["segments"] == sum(1 for seg in bob if seg["speaker"] == "Bob") and "transcript.json" in renamed["files"] and not renamed["enrolled"]
    minutes = http.get(f"/api/meetings/{EN_ID}/minutes").json()
    assert "Robert" in minutes["present"] and any(a["owner"] == "Robert" for a in minutes["action_items"])


def test_openapi_description(http):
    spec = http.get("/api/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/status", "/api/meetings", "/api/meetings/{meeting_id}", "/api/meetings/{meeting_id}/transcript",
                 "/api/meetings/{meeting_id}/minutes", "/api/meetings/{meeting_id}/speakers/rename", "/api/search",
                 "/meetings/{meeting_id}/audio", "/meetings/{meeting_id}/transcript.{fmt}",
                 "/meetings/{meeting_id}/minutes.md"):
        assert path in paths, path
    assert "/login" not in paths and "/search" not in paths  # pages are not part of the API
    assert "Bearer" in spec["info"]["description"] and "X-CSRF-Token" in spec["info"]["description"]
    hit = spec["components"]["schemas"]["SearchHit"]["properties"]
    assert {"meeting_id", "start", "snippet", "url"} <= set(hit)
    assert http.get("/docs").status_code == 404  # no interactive page (it would load a CDN)


@pytest.mark.slow
def test_the_same_pages_over_postgresql(tmp_path, postgres_url):
    """The web reads the archive only through its API, so a PostgreSQL archive serves the same pages."""
    from web_helpers import seed

    home = tmp_path / "home"
    home.mkdir()
    seed(settings_of(home, VOICEBOT_DATABASE_URL=postgres_url))
    assert not (home / "voicebot.db").exists()
    with app_client(home, VOICEBOT_DATABASE_URL=postgres_url) as http:
        assert login(http).status_code == 303
        assert [m["id"] for m in http.get("/api/meetings").json()] == [EN_ID, FR_ID, HOSTILE_ID]
        assert http.get("/api/status").json()["stats"]["meetings_total"] == 3
        segments = json.loads((SAMPLES / "meeting-en.transcript.json").read_text())["segments"]
        said = next(seg["start"] for seg in segments if "signed contract" in seg["text"])
        page = http.get(f"/meetings/{EN_ID}", params={"t": f"{said + 0.5:.1f}"}).text
        assert "signed contract" in re.search(r'class="line current".*?</li>', page, re.S).group(0)
        hits = http.get("/api/search", params={"q": "Blue Cloud", "speaker": "bob"}).json()
        assert hits and {h["speaker"] for h in hits} == {"Bob"}
        token = csrf_of(page)
        renamed = http.post(f"/api/meetings/{EN_ID}/speakers/rename", json={"old": UNNAMED, "new": "Carol"},
                            headers={"X-CSRF-Token": token})
        assert renamed.status_code == 200 and renamed.json()["segments"] == 3
        assert "Carol" in http.get("/api/speakers").json()
