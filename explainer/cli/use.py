"""The sub-commands that use a model: rank, generate, chat, tokenize, info, export, runfile, and
bench. Each takes one of ours (a parameter file) or the real SmolLM2 by the same name argument."""
from __future__ import annotations

from pathlib import Path

from .common import REAL, CLIError, load, real_model_errors, resolve_model


def print_ranking(loaded, prompt, candidates, k=10):
    from ..gpt.scoring import rank_next
    r = rank_next(loaded.model, loaded.tokenizer, prompt, k, candidates)
    if r.truncated:
        print(f"(prompt longer than the context: the first {r.n_dropped} tokens were dropped)")
    print(f"'{prompt} ___'")
    for i, (piece, tid, p) in enumerate(r.top, 1):
        print(f"  {i:2d}. {piece!r:16} id {tid:6d}  {p:7.2%}")
    for c in r.candidates:
        rank = "-" if c.rank is None else str(c.rank)
        print(f"  candidate {c.word!r:12} rank {rank:>5}  p {c.prob:.2e}")


def cmd_rank(args):
    print_ranking(load(args.model), args.prompt, args.candidates, args.k)
    return 0


def cmd_generate(args):
    m = load(args.model)
    tok = m.tokenizer
    from ..gpt.chat import prompt_ids
    ids, _ = prompt_ids(tok, args.prompt, m.config.block_size, chat=False)
    stop = [tok.eot_id] + [tok.special_tokens[s] for s in ("<|end|>", "<|im_end|>") if s in tok.special_tokens]
    print(args.prompt, end="", flush=True)
    for t in m.model.generate(ids, args.tokens, args.temperature, args.top_k, args.top_p,
                              args.seed, stop_ids=stop):
        if t in stop:
            break
        print(tok.decode([t]), end="", flush=True)
    print()
    return 0


def cmd_tokenize(args):
    from ..gpt.tokenizer import char_tokenizer, cl100k
    text = args.text_arg
    if args.tokenizer == "cl100k":
        tok = cl100k()
    elif args.tokenizer == "char":
        from .. import corpus
        tok = char_tokenizer(corpus.get_corpus("everyday").text)
    elif args.tokenizer == REAL:
        from ..real import smollm
        with real_model_errors():
            tok = smollm.tokenizer()              # read from the GGUF's metadata: no weights
    else:
        tok = load(args.model).tokenizer
    pieces = tok.pieces(text)
    print(f"{len(pieces)} tokens, {len(text) / max(len(pieces), 1):.2f} characters per token")
    print(" | ".join(p.text for p in pieces))
    print([p.id for p in pieces])
    return 0


def cmd_info(args):
    if args.model.lower() == REAL:
        return info_real()
    from ..gpt.paramfile import ParamFileError, read_metadata
    path = resolve_model(args.model)
    try:
        meta = read_metadata(path)
    except ParamFileError as e:
        raise CLIError(str(e)) from None
    n = sum(int.__mul__(*s) if len(s) == 2 else s[0] for s, _ in meta["tensors"].values())
    print(f"{path}  ({path.stat().st_size / 1e6:.2f} MB, {n:,} parameters)")
    print("config:   ", meta["config"])
    from ..gpt.tokenizer import Tokenizer
    tok = Tokenizer.from_metadata(meta["tokenizer"])
    print(f"tokenizer: {tok.kind}, {tok.n_vocab:,} tokens, specials {list(tok.special_tokens)}")
    for k, v in meta["facts"].items():
        print(f"  {k}: {v}")
    return 0


def info_real():
    """The GGUF's summary, read from its header (no weights loaded): size, config, tensor types."""
    from ..real import gguffile, smollm
    with real_model_errors():
        path = smollm.require_path()
    f = gguffile.summary(path)
    print(f"{path}  ({f.file_bytes / 1e6:.2f} MB, {f.n_params:,} parameters)")
    print("config:   ", f.config.to_dict())
    print(f"tokenizer: byte-level BPE '{f.meta['tokenizer.ggml.pre']}', {f.n_vocab:,} tokens, "
          f"chat template with {smollm.IM_START} ... {smollm.IM_END}")
    for t in f.types:
        print(f"  {t.type:5} {t.tensors:4d} tensors  {t.params:12,} weights  {t.bytes / 1e6:7.2f} MB  "
              f"{t.bits_per_weight:5.2f} bits each")
    for k in ("general.name", "general.license", "general.size_label"):
        if k in f.meta:
            print(f"  {k}: {f.meta[k]}")
    return 0


def cmd_export(args):
    fmt, *after = args.format or [None]
    out = [p for p in (args.out, args.target, *after) if p]
    if (args.dtype is None) == (fmt is None) or len(out) != 1 or fmt not in (None, "hf", "gguf"):
        raise CLIError("export needs --dtype (fp32, fp16, int8) or --format (hf, gguf), and one place to "
                       "write: e.g. `export base --format gguf base.gguf` or `export base --dtype int8 --out x`")
    out = out[0]
    if fmt:
        return export_for_tools(load(args.model), fmt, out)
    from ..gpt.paramfile import export
    loaded = load(args.model)
    out = export(loaded, out, args.dtype)
    src = Path(loaded.path).stat().st_size
    print(f"saved {out} as {args.dtype}: {out.stat().st_size / 1e6:.2f} MB "
          f"({out.stat().st_size / src:.0%} of {src / 1e6:.2f} MB)")
    return 0


def export_for_tools(loaded, fmt: str, out: str) -> int:
    """A Hugging Face folder or a GGUF file (explainer.export), and how to use it."""
    from ..export import to_gguf, to_hf
    from ..gpt.model import GPT
    if not isinstance(loaded.model, GPT):
        raise CLIError("SmolLM2 is already out there: export one of our own models (base, tuned, ...)")
    try:
        path = to_hf.write(loaded, out) if fmt == "hf" else to_gguf.write(loaded, out)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if fmt == "hf":
        print(f"wrote {path}/: {', '.join(sorted(p.name for p in path.iterdir()))}")
        print(f"  from transformers import AutoModelForCausalLM, AutoTokenizer\n"
              f"  model = AutoModelForCausalLM.from_pretrained({str(path)!r})\n"
              f"  tok = AutoTokenizer.from_pretrained({str(path)!r})")
    else:
        print(f"wrote {path}: {path.stat().st_size / 1e6:.2f} MB, GPT-2 layout for llama.cpp")
        print(f"  python run.py {path} \"A flash flood watch will be in effect all\" --temperature 0")
    return 0


def cmd_runfile(args):
    from ..gpt.paramfile import atomic_write_bytes
    src = Path(__file__).parent.parent / "runfile" / "run.py"
    atomic_write_bytes(args.out, src.read_bytes())
    print(f"wrote {args.out}: try  python {args.out} models/base.safetensors \"A flash flood watch "
          f"will be in effect all\"")
    from ..real import smollm
    gguf = smollm.gguf_path()
    print(f"it runs the real SmolLM2 too:  python {args.out} {gguf or smollm.FILENAME} \"A flash flood watch "
          f"will be in effect all\"  (add --chat to ask it a question)")
    if gguf is None:
        print(f"  (that file is not installed here: `{smollm.INSTALL}` puts it in site-packages)")
    return 0


def chat_template(m, max_tokens: int):
    """The model's own chat template: (question -> prompt ids, the id that ends an answer, its
    text, the ids that stop generation). SmolLM2's <|im_start|>user ... turns, or ours
    <|endoftext|><|user|> ... <|assistant|> (the question cut so that it and the answer fit)."""
    from ..gpt import chat
    from ..real import smollm
    tok = m.tokenizer
    if smollm.IM_START in tok.special_tokens:
        end = tok.special_tokens[smollm.IM_END]
        return (lambda q: smollm.chat_ids(tok, [("user", q)])), end, smollm.IM_END, (end, tok.eot_id)
    try:
        sp = chat.special_ids(tok)
    except chat.ChatError as e:
        raise CLIError(f"{m.name}: {e}") from None
    room = chat.question_room(m.config.block_size, max_tokens)
    return ((lambda q: chat.prompt_ids(tok, q, room)[0]), sp[chat.END], chat.END,
            (sp[chat.END], sp[chat.EOT]))


def cmd_chat(args):
    """An interactive loop: each line is one question, answered on its own."""
    import torch

    from ..gpt import chat
    torch.set_num_threads(args.threads)
    m = load(args.model)
    tok = m.tokenizer
    ids_of, end, end_text, stop = chat_template(m, args.max_tokens)
    if not chat.is_chat_model(m) and end_text == chat.END:
        print(f"note: {m.name} is not instruction-tuned: it has never seen the chat template, so it "
              f"will continue the text instead of answering (try: chat tuned)")
    limit = m.config.block_size - args.max_tokens - 3
    print(f"Chatting with {m.name}. Each question is answered on its own (the context holds "
          f"{m.config.block_size:,} tokens). Ctrl-D or an empty line quits; Ctrl-C stops an answer.")
    n = 0
    while True:
        try:
            q = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not q or q in ("quit", "exit"):
            break
        if len(q) > args.max_chars:
            print(f"(your question has {len(q):,} characters; only the first {args.max_chars:,} are used)")
            q = q[:args.max_chars]
        n_tok = len(tok.encode(q))
        if n_tok > limit:
            print(f"(your question is {n_tok} tokens; with room for a {args.max_tokens}-token answer "
                  f"only its first {limit} fit in the model's {m.config.block_size}-token context)")
        print("bot> ", end="", flush=True)
        out, shown, ended = [], "", False
        try:
            for t in m.model.generate(ids_of(q), args.max_tokens, args.temperature, args.top_k,
                                      seed=args.seed + n, stop_ids=stop):
                if t in stop:
                    ended = t == end
                    break
                out.append(t)
                text = tok.decode(out)
                if not text.endswith("\ufffd"):          # wait for the rest of a split character
                    print(text[len(shown):], end="", flush=True)
                    shown = text
        except KeyboardInterrupt:
            print(" [stopped]")
            n += 1
            continue
        print("" if ended else f" [no {end_text} within {args.max_tokens} tokens]")
        n += 1
    return 0


def cmd_bench(args):
    from ..bench import suite as bench
    from ..corpus import CorpusError
    try:
        return bench.main(args)
    except OSError as e:
        raise CLIError(f"cannot read {e.filename}: {e.strerror}") from None
    except CorpusError as e:
        raise CLIError(f"{args.text}: {e}") from None


def cmd_catalogs(args):
    from ..i18n import LANGUAGES, catalogs
    areas = args.area or list(catalogs.AREAS)
    unknown = [a for a in areas if a not in catalogs.AREAS]
    if unknown:
        raise CLIError(f"no area {', '.join(unknown)}: pick from {', '.join(catalogs.AREAS)}")
    if args.update:
        for area in areas:
            for code, (added, dropped) in catalogs.update(area).items():
                if added or dropped:
                    print(f"{area}/{code}: {added} new, {dropped} no longer used")
    for name in catalogs.unlisted_sources():
        print(f"warning: {name} marks texts but is in no area (catalogs.AREAS): they reach no catalog")
    complete = True
    for code in catalogs.TARGETS:
        c = catalogs.completeness(code)
        missing = [(a, m) for a, m in c.missing if a in areas]
        print(f"{LANGUAGES[code]} ({code}): {c.percent:.1f}% of {c.total} texts translated")
        for area, msg in missing[:20]:
            print(f"  missing [{area}] {msg[:90]!r}")
        if len(missing) > 20:
            print(f"  ... and {len(missing) - 20} more")
        for area, msg, got in catalogs.placeholder_mismatches(code):
            print(f"  placeholders differ [{area}] {msg[:60]!r} -> {got[:60]!r}")
            complete = False
        complete &= not c.missing
    return 0 if complete or not args.strict else 1


def cmd_serve(args) -> int:
    from ..app import launch
    return launch.main(list(args) if isinstance(args, list) else [])
