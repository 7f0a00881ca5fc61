"""Fast checks of the ASR building blocks: repetition guard, chunk packing and
time mapping, model assembly refusing corrupt parts, settings precedence."""

from __future__ import annotations

import hashlib

import pytest

from voicebot import modelfiles
from voicebot.asr import chunking, guards, models
from voicebot.asr.engine import RawSegment, RawWord
from voicebot.config import load_settings
from voicebot.errors import ModelError, UserError


def _words(text: str) -> list[RawWord]:
    return [RawWord(i * 0.5, i * 0.5 + 0.4, f" {w}", 0.9) for i, w in enumerate(text.split())]


def _text(words: list[RawWord]) -> str:
    return "".join(w.word for w in words).strip()


def test_repetition_loop_is_cut_to_one_occurrence():
    looped = "merci beaucoup " * 6 + "au revoir"
    assert _text(guards.cut_repetitions(_words(looped))) == "merci beaucoup au revoir"
    assert _text(guards.cut_repetitions(_words("thank you. thank you. thank you. thank you."))) == "thank you."
    assert _text(guards.cut_repetitions(_words("la la la la la la la fin"))) == "la fin"


def test_natural_repetition_is_kept():
    for text in ("no no no I said", "very very good", "on y va on y va d'accord"):
        assert _text(guards.cut_repetitions(_words(text))) == text


def test_loop_spanning_segments_is_cut_and_silence_hallucination_dropped():
    seg1 = RawSegment(0, 3, " Bonjour à tous.", _words("Bonjour à tous."))
    seg2 = RawSegment(3, 6, " Bonjour à tous.", [RawWord(w.start + 3, w.end + 3, w.word, 0.9) for w in _words("Bonjour à tous.")])
    seg3 = RawSegment(6, 9, " Bonjour à tous.", [RawWord(w.start + 6, w.end + 6, w.word, 0.9) for w in _words("Bonjour à tous.")])
    ghost = RawSegment(9, 12, " Sous-titres réalisés par la communauté", _words("Sous-titres réalisés par la communauté"),
                       avg_logprob=-1.4, no_speech_prob=0.9)
    kept = guards.clean([seg1, seg2, seg3, ghost])
    assert [s.text.strip() for s in kept] == ["Bonjour à tous."]


def test_pack_respects_the_whisper_window_and_order():
    sr = chunking.SAMPLE_RATE
    regions = [(i * 10 * sr, i * 10 * sr + 8 * sr) for i in range(10)]  # ten 8 s regions
    chunks = chunking.pack(regions)
    assert all(c.duration <= chunking.MAX_CHUNK_S for c in chunks)
    assert [p for c in chunks for p in c.pieces] == regions
    assert len(chunks) == 4  # 3 regions (24 s) fit, a 4th would exceed 28 s


def test_chunk_times_map_back_to_the_recording():
    sr = chunking.SAMPLE_RATE
    chunk = chunking.Chunk([(2 * sr, 5 * sr), (60 * sr, 64 * sr)])  # 3 s then 4 s of speech
    assert chunk.to_recording_time(0.0) == 2.0
    assert chunk.to_recording_time(1.5) == 3.5
    assert chunk.to_recording_time(3.0, is_end=True) == 5.0  # end of the first piece
    assert chunk.to_recording_time(3.0) == 60.0  # start of the second
    assert chunk.to_recording_time(5.0) == 62.0
    assert chunk.to_recording_time(99.0) == 64.0


def test_assembly_refuses_a_corrupt_part(tmp_path):
    parts = []
    for i, payload in enumerate([b"a" * 1000, b"b" * 1000]):
        parts.append(tmp_path / f"model.bin.part{i + 1}")
        parts[-1].write_bytes(payload)
    good = hashlib.sha256(b"a" * 1000 + b"b" * 1000).hexdigest()
    assert modelfiles.assemble(parts, tmp_path / "model.bin", good) == good
    parts[1].write_bytes(b"b" * 999 + b"X")  # one flipped byte
    with pytest.raises(ModelError, match="corrupt"):
        modelfiles.assemble(parts, tmp_path / "other.bin", good)
    assert not (tmp_path / "other.bin").exists() and not list(tmp_path.glob(".*partial"))


def test_unknown_model_and_missing_hub_model_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="unknown model"):
        models.resolve("gigantic", tmp_path)
    with pytest.raises(ModelError, match="voicebot models install small"):
        models.resolve("small", tmp_path)
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE"):
        models.install("small", tmp_path)


def test_settings_precedence_defaults_file_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).asr.model == "base"
    (tmp_path / "voicebot.toml").write_text('home = "data"\n[asr]\nmodel = "tiny.en"\nbeam_size = 3\n'
                                            '[mail]\nteam_domains = ["example.org"]\n')
    s = load_settings({})
    assert (s.asr.model, s.asr.beam_size, s.home, s.mail.team_domains) == (
        "tiny.en", 3, (tmp_path / "data").resolve(), ["example.org"])
    s = load_settings({"VOICEBOT_ASR_MODEL": "small", "VOICEBOT_SMTP_URL": "smtp://mail:25",
                       "VOICEBOT_MAIL_TEAM_DOMAINS": "a.org, b.org", "VOICEBOT_HOME": str(tmp_path / "h")})
    assert (s.asr.model, s.asr.beam_size, s.smtp.url, s.mail.team_domains, s.models_dir) == (
        "small", 3, "smtp://mail:25", ["a.org", "b.org"], (tmp_path / "h" / "models").resolve())


def test_bad_settings_are_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "voicebot.toml").write_text("[asr]\nbeam = 3\n")
    with pytest.raises(UserError, match="unknown setting asr.beam"):
        load_settings({})
    (tmp_path / "voicebot.toml").write_text("[asr]\nbeam_size = 'many'\n")
    with pytest.raises(UserError, match="asr.beam_size"):
        load_settings({})
    (tmp_path / "voicebot.toml").write_text("[asr\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_settings({})


def test_a_chunk_is_halved_between_its_pieces_nearest_the_middle():
    chunk = chunking.Chunk([(0, 16000), (20000, 52000), (60000, 70000), (80000, 90000)])  # 1 s, 2 s, 0.625 s, 0.625 s
    first, second = chunk.halves()
    assert first.pieces == [(0, 16000), (20000, 52000)] and second.pieces == [(60000, 70000), (80000, 90000)]
    first, second = chunking.Chunk([(0, 100), (200, 300)]).halves()
    assert (first.pieces, second.pieces) == ([(0, 100)], [(200, 300)])
