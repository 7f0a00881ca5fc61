"""CTranslate2 Whisper weights -> an openai-whisper checkpoint.

So both engines run on the very same weights. CTranslate2 stores Whisper with
fused attention projections (self-attention q|k|v in one matrix, cross-attention
k|v in one) and its own names; openai-whisper wants separate ``query``,
``key`` (no bias), ``value`` and ``out`` layers. The reader below parses the
CTranslate2 ``model.bin`` format (version 6: a spec name, then variables as
name, rank, shape, dtype, bytes, then aliases) with no CTranslate2 API.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np

from voicebot.errors import ModelError
from voicebot.fsutil import atomic_write

# CTranslate2's DataType enum
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path: Path) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 model.bin, aliases resolved."""
    data = Path(path).read_bytes()
    offset = 0

    def take(fmt: str):
        nonlocal offset
        value = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal offset
        length = take("<H")
        text = data[offset:offset + length - 1].decode("utf-8")
        offset += length
        return text

    try:
        version = take("<I")
        if version < 5:
            raise ModelError(f"{path}: CTranslate2 model format {version} is too old; re-convert the model")
        spec = string()
        take("<I")  # spec revision
        if spec != "WhisperSpec":
            raise ModelError(f"{path} is a {spec} model, not Whisper")
        variables: dict[str, np.ndarray] = {}
        for _ in range(take("<I")):
            name = string()
            rank = take("<B")
            shape = [take("<I") for _ in range(rank)]
            dtype_id = take("<B")
            nbytes = take("<I")
            if dtype_id not in _DTYPES:
                raise ModelError(f"{path}: variable {name} has an unsupported type {dtype_id} "
                                 "(a quantized model? convert from a float16 or float32 model)")
            array = np.frombuffer(data, dtype=_DTYPES[dtype_id], count=nbytes // np.dtype(_DTYPES[dtype_id]).itemsize,
                                  offset=offset)
            variables[name] = array.reshape(shape) if shape else array.reshape(())
            offset += nbytes
        for _ in range(take("<I")):
            alias, target = string(), string()
            variables[alias] = variables[target]
    except (struct.error, ValueError) as exc:
        raise ModelError(f"{path} is truncated or not a CTranslate2 model ({exc})") from None
    return variables


def _layers(variables: dict, prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    return len({m.group(1) for k in variables if (m := pattern.match(k))})


def _linear(sd: dict, target: str, var: dict, source: str, *, bias: bool = True) -> None:
    sd[f"{target}.weight"] = var[f"{source}/weight"]
    if bias:
        sd[f"{target}.bias"] = var[f"{source}/bias"]


def _norm(sd: dict, target: str, var: dict, source: str) -> None:
    sd[f"{target}.weight"] = var[f"{source}/gamma"]
    sd[f"{target}.bias"] = var[f"{source}/beta"]


def _split(var: dict, source: str, parts: int) -> list[tuple[np.ndarray, np.ndarray]]:
    weights = np.split(var[f"{source}/weight"], parts, axis=0)
    biases = np.split(var[f"{source}/bias"], parts, axis=0)
    return list(zip(weights, biases))


def _qkv(sd: dict, target: str, pieces: list[tuple[np.ndarray, np.ndarray]], names: list[str]) -> None:
    for name, (weight, bias) in zip(names, pieces):
        sd[f"{target}.{name}.weight"] = weight
        if name != "key":  # openai-whisper's key projection has no bias (CTranslate2 stores zeros)
            sd[f"{target}.{name}.bias"] = bias


def _block(sd: dict, var: dict, src: str, dst: str) -> None:
    """Self-attention and feed-forward of one layer (encoder and decoder alike)."""
    _qkv(sd, f"{dst}.attn", _split(var, f"{src}/self_attention/linear_0", 3), ["query", "key", "value"])
    _linear(sd, f"{dst}.attn.out", var, f"{src}/self_attention/linear_1")
    _norm(sd, f"{dst}.attn_ln", var, f"{src}/self_attention/layer_norm")
    _linear(sd, f"{dst}.mlp.0", var, f"{src}/ffn/linear_0")
    _linear(sd, f"{dst}.mlp.2", var, f"{src}/ffn/linear_1")
    _norm(sd, f"{dst}.mlp_ln", var, f"{src}/ffn/layer_norm")


def state_dict_from_ct2(variables: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """(dims, state_dict of numpy arrays) in openai-whisper's naming."""
    sd: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        _linear(sd, f"encoder.{conv}", variables, f"encoder/{conv}")
    sd["encoder.positional_embedding"] = variables["encoder/position_encodings/encodings"]
    n_audio_layer = _layers(variables, "encoder")
    for i in range(n_audio_layer):
        _block(sd, variables, f"encoder/layer_{i}", f"encoder.blocks.{i}")
    _norm(sd, "encoder.ln_post", variables, "encoder/layer_norm")

    sd["decoder.token_embedding.weight"] = variables["decoder/embeddings/weight"]
    sd["decoder.positional_embedding"] = variables["decoder/position_encodings/encodings"]
    n_text_layer = _layers(variables, "decoder")
    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        _block(sd, variables, src, dst)
        _linear(sd, f"{dst}.cross_attn.query", variables, f"{src}/attention/linear_0")
        _qkv(sd, f"{dst}.cross_attn", _split(variables, f"{src}/attention/linear_1", 2), ["key", "value"])
        _linear(sd, f"{dst}.cross_attn.out", variables, f"{src}/attention/linear_2")
        _norm(sd, f"{dst}.cross_attn_ln", variables, f"{src}/attention/layer_norm")
    _norm(sd, "decoder.ln", variables, "decoder/layer_norm")

    dims = {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(variables["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(variables["encoder/position_encodings/encodings"].shape[1]),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(variables["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(variables["decoder/position_encodings/encodings"].shape[1]),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    return dims, sd


def convert(ct2_dir: Path, output: Path) -> Path:
    """Write an openai-whisper checkpoint (float32, with alignment heads) from a CTranslate2 model dir."""
    import io

    import torch

    ct2_dir = Path(ct2_dir)
    if not (ct2_dir / "model.bin").is_file():
        raise ModelError(f"{ct2_dir} has no model.bin; install the model first (`voicebot models install`)")
    dims, sd = state_dict_from_ct2(read_ct2(ct2_dir / "model.bin"))
    config = json.loads((ct2_dir / "config.json").read_text()) if (ct2_dir / "config.json").is_file() else {}
    checkpoint = {
        "dims": dims,
        "model_state_dict": {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in sd.items()},
        "alignment_heads": [list(map(int, pair)) for pair in config.get("alignment_heads", [])],
        "source": str(ct2_dir),
    }
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return atomic_write(Path(output), buffer.getvalue())


def load_openai_model(checkpoint_path: Path, threads: int):
    """An openai-whisper model from a checkpoint written by ``convert``."""
    import torch
    import whisper

    torch.set_num_threads(threads)
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"])
    heads = checkpoint.get("alignment_heads") or []
    if heads:
        mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model.eval()
