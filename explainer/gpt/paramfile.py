"""The parameter file: one self-contained safetensors file that IS the model.

It holds every weight as a named tensor, and in its string metadata the model config, the
tokenizer (merge ranks and special tokens) and facts about how it was trained. Loading needs
nothing else, never unpickles anything (safetensors is a JSON header plus raw numbers), and a
truncated, corrupted or mismatched file gives an error that names the problem.

Metadata keys: "format" = "llm-explainer/1", "config", "tokenizer", "facts" (each a JSON string).
Tensor names are `GPT.state_dict()` names without `lm_head.weight` (tied to `wte.weight`).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from .model import GPT, GPTConfig
from .tokenizer import Tokenizer

FORMAT = "llm-explainer/1"
ROOT = Path(__file__).resolve().parents[2]       # the project folder (Home.py, models/)


def models_dir() -> Path:
    """Where parameter files are listed, loaded and saved: $EXPLAINER_MODELS_DIR when set and not
    empty, else `models/` beside Home.py. The one definition every page, CLI verb and bench uses."""
    return Path(os.environ.get("EXPLAINER_MODELS_DIR") or ROOT / "models")


class ParamFileError(ValueError):
    """A parameter file that cannot be used; the message says what is wrong with it."""


@dataclass
class LoadedModel:
    model: GPT
    tokenizer: Tokenizer
    config: GPTConfig
    facts: dict = field(default_factory=dict)
    path: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).stem if self.path else self.facts.get("name", "unsaved model")


def cache_key(loaded: LoadedModel | None) -> str:
    """A key for caching what a model computes: the same in every process (unlike `hash` or
    `id`, whose numbers are reused once an object is gone) and new whenever the model is. A model
    read from a file is known by the file (path, size, modification time, inode: a rewrite is a
    new file), a model only in memory (trained in this session, not saved) by a digest of its
    weights. Fixed at a model object's first use, so saving a session's model changes nothing.

    >>> cache_key(None)
    'none'
    """
    if loaded is None:
        return "none"
    key = _keys.get(loaded.model)
    if key is None:
        if loaded.path and os.path.isfile(loaded.path):
            stat = os.stat(loaded.path)
            key = f"{loaded.path}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
        else:
            key = f"weights|{_weights_digest(loaded.model)}"
        _keys[loaded.model] = key
    return key


_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # model object -> its cache_key


def _weights_digest(model: torch.nn.Module) -> str:
    """BLAKE2 of every tensor's name, shape, type and bytes (a small model: tens of milliseconds)."""
    h = hashlib.blake2b(digest_size=16)
    for name, t in sorted(model.state_dict().items()):
        h.update(f"{name}|{tuple(t.shape)}|{t.dtype}".encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the new one, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)     # mkstemp makes 0600; a saved model is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_tensors(model: GPT, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """The weights to store: state_dict minus the tied output layer, contiguous, optional cast."""
    sd = model.state_dict()
    sd.pop("lm_head.weight", None)
    return {k: (v.to(dtype) if dtype is not None else v).contiguous() for k, v in sd.items()}


def to_bytes(model: GPT, tokenizer: Tokenizer, facts: dict, dtype: torch.dtype | None = None,
             extra_tensors: dict[str, torch.Tensor] | None = None) -> bytes:
    meta = {
        "format": FORMAT,
        "config": json.dumps(model.config.to_dict()),
        "tokenizer": json.dumps(tokenizer.to_metadata()),
        "facts": json.dumps(facts, default=str),
    }
    tensors = model_tensors(model, dtype)
    tensors.update(extra_tensors or {})
    return st_save(tensors, metadata=meta)


def save_model(path: str | os.PathLike, model: GPT, tokenizer: Tokenizer, facts: dict,
               dtype: torch.dtype | None = None) -> Path:
    """Write the model as one safetensors file, atomically. Returns the path."""
    if tokenizer.n_vocab != model.config.vocab_size:
        raise ParamFileError(f"tokenizer has {tokenizer.n_vocab} tokens but the model expects "
                             f"{model.config.vocab_size}")
    atomic_write_bytes(path, to_bytes(model, tokenizer, facts, dtype))
    return Path(path)


def read_metadata(path: str | os.PathLike) -> dict:
    """Header only (cheap): {"config": {...}, "tokenizer": {...}, "facts": {...}, "tensors": {...}}."""
    path = Path(path)
    if not path.is_file():
        raise ParamFileError(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
            shapes = {k: (list(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise ParamFileError(f"{path.name} is not a readable safetensors file (truncated or "
                             f"corrupted?): {e}") from None
    if raw.get("format") != FORMAT:
        raise ParamFileError(f"{path.name} is a safetensors file but not an LLM Explainer model "
                             f"(format {raw.get('format')!r}, expected {FORMAT!r})")
    out = {"tensors": shapes}
    for key in ("config", "tokenizer", "facts"):
        try:
            out[key] = json.loads(raw[key])
        except (KeyError, json.JSONDecodeError) as e:
            raise ParamFileError(f"{path.name}: metadata '{key}' is missing or not JSON ({e})") from None
    return out


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Rebuild model and tokenizer from the file alone. Raises ParamFileError naming the problem."""
    path = Path(path)
    meta = read_metadata(path)
    try:
        cfg = GPTConfig.from_dict(meta["config"])
    except (TypeError, ValueError) as e:
        raise ParamFileError(f"{path.name}: bad model config: {e}") from None
    try:
        tok = Tokenizer.from_metadata(meta["tokenizer"])
    except (TypeError, ValueError, KeyError) as e:
        raise ParamFileError(f"{path.name}: bad tokenizer: {e}") from None
    if tok.n_vocab != cfg.vocab_size:
        raise ParamFileError(f"{path.name}: tokenizer has {tok.n_vocab} tokens, config says "
                             f"{cfg.vocab_size}")
    model = GPT(cfg)
    expected = model_tensors(model)
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise ParamFileError(f"{path.name}: cannot read tensors (truncated?): {e}") from None
    tensors = dequantize(tensors)
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise ParamFileError(f"{path.name}: missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    for k, ref in expected.items():
        if tuple(tensors[k].shape) != tuple(ref.shape):
            raise ParamFileError(f"{path.name}: tensor {k} has shape {tuple(tensors[k].shape)}, "
                                 f"the config needs {tuple(ref.shape)}")
        if not torch.isfinite(tensors[k].float()).all():
            raise ParamFileError(f"{path.name}: tensor {k} contains NaN or infinity")
    model.load_state_dict({k: tensors[k].float() for k in expected}, strict=False)
    model.eval()
    return LoadedModel(model, tok, cfg, meta["facts"], str(path))


# --------------------------------------------------------------------------------------------------
# Smaller files: fp16 and per-channel int8

def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel symmetric int8: w (out, in) ~= q (int8) * scale (out, 1).

    Example: a row [0.5, -1.0] gets scale 1/127 and q [64, -127].
    """
    scale = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0     # (out, 1)
    q = torch.round(w / scale).clamp(-127, 127).to(torch.int8)
    return q, scale.float()


def dequantize(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Undo `export(..., "int8")`: name.q8 + name.scale -> name (float32)."""
    out = {}
    for k, v in tensors.items():
        if k.endswith(".q8"):
            base = k[:-3]
            out[base] = v.float() * tensors[base + ".scale"]
        elif not k.endswith(".scale"):
            out[k] = v
    return out


def export(loaded: LoadedModel, out: str | os.PathLike, dtype: str = "fp16") -> Path:
    """Save a copy as fp32, fp16 or int8 (2-D weights per-channel quantised; norms and biases fp32)."""
    facts = dict(loaded.facts, stored_as=dtype)
    if dtype == "fp32":
        data = to_bytes(loaded.model, loaded.tokenizer, facts)
    elif dtype == "fp16":
        data = to_bytes(loaded.model, loaded.tokenizer, facts, torch.float16)
    elif dtype == "int8":
        tensors = {}
        for k, v in model_tensors(loaded.model).items():
            if v.dim() == 2:
                tensors[k + ".q8"], tensors[k + ".scale"] = quantize_int8(v)
            else:
                tensors[k] = v
        meta = {"format": FORMAT, "config": json.dumps(loaded.config.to_dict()),
                "tokenizer": json.dumps(loaded.tokenizer.to_metadata()),
                "facts": json.dumps(facts, default=str)}
        data = st_save(tensors, metadata=meta)
    else:
        raise ValueError(f"dtype must be fp32, fp16 or int8, not {dtype!r}")
    atomic_write_bytes(out, data)
    return Path(out)


# --------------------------------------------------------------------------------------------------
# Model names in models/

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")


def validate_model_name(name: str, models_dir: str | os.PathLike, shipped: set[str] = frozenset()) -> Path:
    """The path `models_dir/name.safetensors` for a user-chosen name, or ValueError saying why not.

    Allowed: letters, digits, '-' and '_', 1-48 characters, starting with a letter or digit (so no
    '..', '/', hidden files or absolute paths). Shipped model names cannot be overwritten.
    Example: validate_model_name("my-model", "models") -> Path("models/my-model.safetensors").
    """
    name = (name or "").strip()
    if name.endswith(".safetensors"):
        name = name[: -len(".safetensors")]
    if not NAME_RE.match(name):
        raise ValueError("Use 1-48 letters, digits, '-' or '_' for the name (no spaces, dots or "
                         "slashes), starting with a letter or digit.")
    if name in shipped:
        raise ValueError(f"'{name}' is a model that ships with the app; choose another name.")
    return Path(models_dir) / f"{name}.safetensors"
