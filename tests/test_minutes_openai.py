"""The openai engine against a real local HTTP server speaking the OpenAI chat completions
protocol (canned answers): supported items kept, unsupported ones rejected item by item and
filled by the extractive engine, and the fallback when the endpoint is down, slow or broken."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from minutes_helpers import sample

from bench.minutes_score import score
from voicebot.config import Settings
from voicebot.minutes import draft
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


def _line(transcript, meeting, startswith: str) -> int:
    people = gather(transcript, meeting, None)
    return next(s.index for s in sentences(transcript, people.name_of) if s.text.startswith(startswith))


def test_supported_items_are_kept_and_the_rest_is_rejected_and_filled(server):
    transcript, meeting, expected = sample("en")
    line = lambda text: _line(transcript, meeting, text)  # noqa: E731
    answer = {
        "decisions": [
            {"text": "The launch moves to the 7th of April", "lines": [line("So we decided")]},
            {"text": "Hire two new developers", "lines": [line("Then we agreed")]},  # invented
        ],
        "action_items": [
            {"owner": "Carol", "task": "Update the test plan", "due": "2026-03-31",
             "lines": [line("Carol, could you"), line("Yes, I will take care")]},
            {"owner": "David", "task": "Send the signed contract to Blue Cloud", "due": "2026-03-17",
             "lines": [line("I will send")]},  # wrong owner: Bob said it
            {"owner": "Alice", "task": "Call David", "due": "2026-03-20", "lines": [line("David needs")]},  # wrong date
            "not an object",
        ],
        "open_questions": [],
        "next_meeting": "2026-03-19T10:00",
    }
    server.answer = lambda body: (200, "Here are the minutes:\n```json\n" + json.dumps(answer) + "\n```", 0.0)
    minutes = draft(transcript, _settings(f"http://127.0.0.1:{server.server_port}/v1", openai_api_key="sk-test"),
                    meeting=meeting, engine="openai")
    # The request was a real chat completion with the transcript in it.
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "test-model" and request["body"]["temperature"] == 0
    assert "Carol, could you update the test plan" in request["body"]["messages"][1]["content"]
    # Kept: the model's supported decision and action; the rest came from the extractive engine.
    assert minutes.decisions[0].text == "The launch moves to the 7th of April"
    assert "Hire two new developers" not in [d.text for d in minutes.decisions]
    assert ("David", "Send the signed contract to Blue Cloud") not in [(a.owner, a.task) for a in minutes.action_items]
    result = score(minutes, expected)
    assert result["precision"] == 1.0 and result["recall"] == 1.0, result
    assert minutes.engine == "openai+extractive"
    assert minutes.next_meeting == "2026-03-19T10:00"
    assert any("4 item(s) proposed by the language model were not supported" in n for n in minutes.notes)


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
    (200, "{}", 3.0, "did not answer within"),
])
def test_broken_or_slow_endpoint_falls_back(server, status, content, delay, reason):
    server.answer = lambda body: (status, content, delay)
    transcript, meeting, expected = sample("en")
    minutes = draft(transcript, _settings(f"http://127.0.0.1:{server.server_port}/v1", timeout=1.0),
                    meeting=meeting, engine="openai")
    assert minutes.engine == "extractive"
    assert score(minutes, expected)["recall"] == 1.0
    assert reason in minutes.notes[0]


def test_long_transcripts_go_in_chunks(server):
    transcript, meeting, _ = sample("en")
    server.answer = lambda body: (200, '{"decisions": [], "action_items": []}', 0.0)
    draft(transcript, _settings(f"http://127.0.0.1:{server.server_port}/v1", chunk_tokens=200),
          meeting=meeting, engine="openai")
    assert len(server.requests) >= 3
    bodies = [r["body"]["messages"][1]["content"] for r in server.requests]
    assert "Good morning everyone" in bodies[0] and "meet again next Thursday" in bodies[-1]


def test_openai_engine_not_configured_says_so():
    transcript, meeting, _ = sample("en")
    minutes = draft(transcript, Settings(), meeting=meeting, engine="openai")
    assert minutes.engine == "extractive" and "minutes.openai_url is not set" in minutes.notes[0]
