"""The web pages in a real browser: headless Chromium from Debian (/usr/bin/chromium) driven
by Playwright, against a real `voicebot serve` over a home holding the English sample
meeting (its real audio). Log in, search, open a result at its moment, play from a
transcript line (the audio moves, the line is highlighted and the highlight follows),
rename a speaker and enroll their voice. Screenshots are saved in the test's folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from web_helpers import EN_ID, PASSWORD, SAMPLES, UNNAMED, USER, Server, settings_of

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.slow


@pytest.fixture
def browser_page(web_home, tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/install-system.sh)")
    from playwright.sync_api import sync_playwright

    server = Server(web_home)
    problems: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
            page = context.new_page()
            page.set_default_timeout(30_000)
            # script errors, CSP violations, and any style, script or audio the pages failed to load
            # (a page itself may answer 401: the wrong password is tried on purpose)
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and r.request.resource_type != "document" else None)
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.base = server.url
            page.shots = tmp_path / "screenshots"
            page.shots.mkdir()
            page.problems = problems
            yield page
            context.close()
            browser.close()
    finally:
        server.stop()


def _shot(page, name: str) -> Path:
    path = page.shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def _wait(page, expression: str, timeout: float = 30.0) -> None:
    """Wait until a JavaScript expression is true. (Playwright's wait_for_function evaluates its text
    inside the page, which the pages' Content-Security-Policy rightly forbids; evaluate() does not.)"""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} s: {expression}; now {_state(page)}")
        page.wait_for_timeout(100)


def _state(page) -> dict:
    return page.evaluate("""() => {
        const audio = document.getElementById('player');
        const line = document.querySelector('#transcript .line.current');
        return {time: audio.currentTime, paused: audio.paused,
                current: line ? line.id : null, start: line ? parseFloat(line.dataset.start) : null,
                end: line ? parseFloat(line.dataset.end) : null, search: location.search};
    }""")


def test_log_in_search_open_play_rename(browser_page, web_home):
    page = browser_page
    base = page.base
    from voicebot.archive import open_archive
    from voicebot.web.views import moment_param

    # not logged in: any page leads to the login form
    page.goto(base + "/")
    assert page.url == base + "/login"
    _shot(page, "1-login")
    page.fill("#username", USER)
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert "Wrong user name or password" in page.inner_text(".flash-error")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert page.inner_text("h1") == "Dashboard"
    assert page.locator(".card").count() == 7 and page.locator("svg.chart rect").count() == 24
    _shot(page, "2-dashboard")

    # search from the box in the header
    page.fill(".quick-search input[name=q]", "signed contract")
    page.press(".quick-search input[name=q]", "Enter")
    page.wait_for_url("**/search?q=signed+contract")
    results = page.locator(".result")
    assert results.count() >= 1
    first = results.first
    assert first.locator("mark").first.inner_text().lower() in ("signed contract", "signed", "contract")
    assert "Bob" in first.inner_text()
    _shot(page, "3-search")

    # open the result: the meeting page at that moment, the line said then is highlighted
    href = first.locator("a.result-link").get_attribute("href")
    assert href.startswith(f"/meetings/{EN_ID}?t=")
    moment = float(href.split("t=")[1])
    first.locator("a.result-link").click()
    page.wait_for_url(base + href)
    _wait(page, "document.getElementById('player').readyState >= 1")
    state = _state(page)
    assert state["current"] is not None and state["start"] <= moment < state["end"]
    assert "signed contract" in page.inner_text("#transcript .line.current").lower()
    assert abs(state["time"] - moment) < 0.5 and state["paused"]  # the player waits at that moment
    current_box = page.locator("#transcript .line.current").bounding_box()
    transcript_box = page.locator("section.transcript").bounding_box()
    assert transcript_box["y"] <= current_box["y"] <= transcript_box["y"] + transcript_box["height"]  # in view
    _shot(page, "4-meeting-at-result")

    # play from a transcript line: the audio goes there and plays; the line is highlighted
    target = page.locator("#seg-7")
    start = float(target.get_attribute("data-start"))
    end = float(target.get_attribute("data-end"))
    target.locator(".text").click()
    _wait(page, f"document.getElementById('player').currentTime > {start + 0.8}")
    state = _state(page)
    assert not state["paused"] and state["current"] == "seg-7" and state["time"] > start
    assert "current" in target.get_attribute("class") and target.get_attribute("aria-current") == "true"
    assert state["search"] == f"?t={moment_param(start)}"
    _shot(page, "5-playing")
    # the highlight follows the audio onto the next line
    _wait(page, "document.querySelector('#seg-8.current')", timeout=(end - start) * 3 + 30)
    state = _state(page)
    assert state["time"] > end - 0.5 and not state["paused"] and "current" not in target.get_attribute("class")
    page.evaluate("document.getElementById('player').pause()")

    # a decision in the minutes plays from the moment it was said
    decision = page.locator("ol.decisions a.at").first
    said_at = float(decision.get_attribute("data-seek"))
    decision.click()
    _wait(page, f"document.getElementById('player').currentTime > {said_at + 0.3}")
    state = _state(page)
    assert state["start"] <= said_at + 0.01 and not state["paused"]
    page.evaluate("document.getElementById('player').pause()")

    # rename "Speaker 1" (Carol, whose voice was not recognised) and enroll her voice
    row = page.locator(".speaker-row", has=page.locator(f".speaker:text-is('{UNNAMED}')"))
    row.locator("summary").click()
    row.locator("input[name=new]").fill("Carol")
    row.locator("input[name=enroll]").check()
    _shot(page, "6-rename-form")
    with page.expect_navigation(timeout=240_000):  # enrolling computes a voiceprint from the audio
        row.locator("button[type=submit]").click(timeout=240_000)
    assert page.url == base + f"/meetings/{EN_ID}"
    assert "Renamed Speaker 1 to Carol (3 transcript lines); their voice is enrolled" in page.inner_text(".flash")
    names = page.locator("#transcript .speaker").all_inner_texts()
    assert UNNAMED not in names and names.count("Carol") == 3
    assert page.locator(".speaker-list .speaker").all_inner_texts() == ["Alice", "Bob", "Carol"]
    _shot(page, "7-renamed")
    with open_archive(settings_of(web_home)) as db:
        assert db.get_transcript(EN_ID).speakers == ["Alice", "Bob", "Carol"]
        carol = db.get_person("Carol")
    assert carol is not None and carol["has_voiceprint"] and carol["source"] == f"meeting {EN_ID}"
    # the voiceprint is Carol's: it is closer to her own enrollment clip than to the others'
    from voicebot.diarize import voiceprint

    similarity = {name: float(carol["voiceprint"] @ voiceprint(SAMPLES / "voices" / f"{name}.flac"))
                  for name in ("Alice", "Bob", "Carol", "David")}
    assert max(similarity, key=similarity.get) == "Carol", similarity

    # log out: the pages are closed again
    page.click(".logout button")
    page.wait_for_url(base + "/login")
    page.goto(base + f"/meetings/{EN_ID}")
    assert page.url.startswith(base + "/login?next=")
    assert page.problems == [], page.problems  # no script error, nothing blocked by the CSP
    _keep(page.shots)


def _keep(folder: Path) -> None:
    """With VOICEBOT_WEB_SHOTS=DIR, copy the screenshots there to look at them."""
    import os

    target = os.environ.get("VOICEBOT_WEB_SHOTS")
    if target:
        shutil.copytree(folder, target, dirs_exist_ok=True)
        (Path(target) / "index.json").write_text(json.dumps(sorted(p.name for p in folder.glob("*.png"))))


def test_pages_on_a_phone_sized_screen(browser_page):
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(page.base + f"/meetings/{EN_ID}?t=20")
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(page.base + f"/meetings/{EN_ID}?t=20")
    # one column: nothing wider than the screen
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page is {width} px wide on a 390 px screen"
    assert page.locator("#transcript .line.current").is_visible()
    _shot(page, "8-phone-meeting")
    page.goto(page.base + "/search?q=launch")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    _shot(page, "9-phone-search")
    page.goto(page.base + "/upload")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    assert page.problems == [], page.problems
    _keep(page.shots)


def test_upload_a_recording_resumes_after_a_cut_and_opens_its_meeting(browser_page, web_home, tmp_path):
    """The upload page: a real recording (48 kHz stereo WAV, two 4 MB pieces) of which the server already
    holds the second piece, as after an upload cut off; the first PUT fails as if the network dropped.
    The page sends only the missing piece, again after the failure, finishes, and opens the new meeting."""
    import hashlib
    from datetime import datetime

    import httpx
    import numpy as np
    import soundfile as sf

    from voicebot import recordings
    from voicebot import upload as uploads
    from voicebot.archive import open_archive
    from voicebot.web.auth import Users, load_secret

    page = browser_page
    speech, rate = sf.read(SAMPLES / "meeting-en.flac", dtype="int16")
    speech = np.repeat(speech[: 30 * rate], 3)  # 16 kHz -> 48 kHz by repetition: real speech, a new recording
    audio = tmp_path / "Call with the agency.wav"
    sf.write(audio, np.stack([speech, speech], axis=1), 48000, subtype="PCM_16")
    data = audio.read_bytes()
    assert uploads.PIECE_BYTES < len(data) <= 2 * uploads.PIECE_BYTES
    digest = hashlib.sha256(data).hexdigest()
    settings = settings_of(web_home)
    token, _ = Users(settings, load_secret(settings)).make_token(USER, 1)
    held = httpx.put(f"{page.base}/api/uploads/{digest}/pieces/1", content=data[uploads.PIECE_BYTES:],
                     headers={"Authorization": f"Bearer {token}"})
    assert held.json()["pieces"] == [1]

    puts: list[str] = []
    page.on("request", lambda r: puts.append(r.url.rsplit("/", 1)[1]) if r.method == "PUT" else None)
    cut = {"done": False}

    def drop_first(route):
        if not cut["done"]:
            cut["done"] = True
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/pieces/0", drop_first)
    page.goto(page.base + "/upload")
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(page.base + "/upload")
    page.set_input_files("#upload-file", str(audio))
    assert "Call with the agency.wav" in page.inner_text("#upload-chosen")
    recorded = page.input_value("#upload-recorded")  # the file's time, to correct if needed
    assert recorded[:10] == datetime.fromtimestamp(audio.stat().st_mtime).strftime("%Y-%m-%d")
    page.fill("input[name=title]", "Agency call")
    page.fill("input[name=invite]", "Dora <dora@example.org>")
    _shot(page, "10-upload")
    page.click("#upload-form button[type=submit]")
    page.wait_for_url("**/meetings/*", timeout=60_000)
    meeting_id = page.url.rsplit("/", 1)[1]
    assert puts == ["0", "0"]  # the piece the server had was not sent again; the cut one was sent again
    meeting = recordings.load_meeting(settings.recordings_dir / meeting_id)
    with open_archive(settings) as db:
        assert db.get_meeting(meeting_id)["title"] == "Agency call"
    assert meeting.title == "Agency call" and [p.email for p in meeting.invitees] == ["dora@example.org"]
    assert meeting.started_at[:16] == recorded  # the time the page sent, with the browser's offset
    stored = sf.info(settings.recordings_dir / meeting_id / recordings.AUDIO)
    assert abs(stored.duration - 30.0) < 0.05  # both pieces, put together and checked against the sha256
    # the aborted request is the only failure the page saw
    assert all("pieces/0" in p for p in page.problems), page.problems
