"""How a tool call and its result are written into the context: for our GPT, and for SmolLM2.

Our model gets two new special tokens, so a call cannot be confused with text:

    <|endoftext|><|user|>What is 23 times 47?<|assistant|><|call|>calculator(23*47)<|end|>
    <|result|>1081<|end|>The answer is 1081.<|end|>

The model writes `<|call|>calculator(23*47)<|end|>` and stops (<|end|> stops generation anyway);
the loop runs the tool and appends `<|result|>1081<|end|>`; the model goes on with its answer.
Why new tokens rather than a text marker such as "CALL:": text can be typed, so a learner (or a
web page read by a tool) could write a fake result into the question; a special token is added
only as an id, never by encoding text (tokenizer.encode with allow_special=False), so the question
and every tool result stay plain text. The price is two new rows in the embedding (tied to the
output layer): `with_call_tokens` grows a chat model's vocabulary from 2,048 to 2,050 before
tool-use tuning, and the parameter file stores the tokenizer with its six specials.

SmolLM2 cannot learn new tokens here (we only run it), so it is told the syntax in a system
message with a few examples, in plain text: it writes "CALL: calculator(23*47)", and the result
comes back in a turn of its own ("tool": "RESULT: 1081"), as real chat templates do.
"""
from __future__ import annotations

import re
from dataclasses import replace

import torch

from ..gpt import chat
from ..gpt.model import GPT
from ..gpt.paramfile import LoadedModel
from ..gpt.tokenizer import Tokenizer
from ..real import smollm
from .tools import TOOLS

CALL, RESULT = "<|call|>", "<|result|>"
MEANINGS = {CALL: "the model calls a tool: tool(argument) follows, up to <|end|>",
            RESULT: "the tool's result follows (written by the program, not the model), up to <|end|>"}
MALFORMED = "error: write a call as tool(argument), for example calculator(2*3)"
_CALL_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$", re.S)


def parse_call(text: str) -> tuple[str, str] | None:
    """'calculator(23*47)' -> ('calculator', '23*47'); anything else -> None (malformed)."""
    m = _CALL_RE.match(text)
    return (m.group(1), m.group(2).strip()) if m else None


def has_call_tokens(tok) -> bool:
    return CALL in tok.special_tokens and RESULT in tok.special_tokens


def with_call_tokens(loaded: LoadedModel, seed: int = 0) -> LoadedModel:
    """A copy of a chat model with <|call|> and <|result|> added at the top of its vocabulary.

    The new embedding rows start as the mean of the existing rows plus a little noise (so the two
    differ): the model's first guess for them is an "average token", not a random one.
    """
    tok = loaded.tokenizer
    if has_call_tokens(tok):
        return loaded
    chat.special_ids(tok)                                   # ChatError if it cannot chat at all
    meta = tok.to_metadata()
    if "special_tokens" not in meta:
        raise chat.ChatError(f"a {tok.kind} tokenizer cannot take new tokens here")
    meta["special_tokens"] = {**tok.special_tokens, CALL: tok.n_vocab, RESULT: tok.n_vocab + 1}
    grown = Tokenizer.from_metadata(meta)
    cfg = replace(loaded.config, vocab_size=grown.n_vocab)
    sd = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    wte = sd["wte.weight"]                                                       # (V, C)
    gen = torch.Generator().manual_seed(seed)
    new = wte.mean(0, keepdim=True) + 0.02 * torch.randn(2, wte.size(1), generator=gen)
    sd["wte.weight"] = sd["lm_head.weight"] = torch.cat([wte, new])              # (V + 2, C)
    model = GPT(cfg)
    model.load_state_dict(sd)
    model.eval()
    return LoadedModel(model, grown, cfg, dict(loaded.facts), None)


def result_ids(tok, text: str) -> list[int]:
    """<|result|> + the text + <|end|>, the text after a space: ' 1081' is the same tokens as in
    'The answer is 1081.', so the model copies tokens it sees instead of respelling them
    ('1081' alone would be 1|0|8|1, but ' 1081' in its answer is ' 10'|8|1). A model without
    the tokens gets the text alone."""
    body = tok.encode(" " + text)
    if RESULT not in tok.special_tokens:
        return body
    return [tok.special_tokens[RESULT], *body, chat.special_ids(tok)[chat.END]]


# --------------------------------------------------------------------------------------------------
# The two ways of writing it: the loop asks a form for the prompt, where a call is, and the result

class OurForm:
    """Our GPT's agent template (the special tokens above)."""

    def __init__(self, tok):
        self.tok, self.sp = tok, chat.special_ids(tok)
        self.call_id = tok.special_tokens.get(CALL)
        self.result_id = tok.special_tokens.get(RESULT)
        self.stop_ids = (self.sp[chat.END], self.sp[chat.EOT])

    def start(self, question: str, room: int) -> tuple[list[int], int]:
        return chat.prompt_ids(self.tok, question, room)

    def split(self, new: list[int]) -> tuple[list[int], str | None]:
        """(the ids the model keeps, the call's text or None when it answered)."""
        if self.call_id is None or self.call_id not in new:
            return new, None
        body = new[new.index(self.call_id) + 1:]
        return new, self.tok.decode([i for i in body if i not in self.stop_ids])

    def result_ids(self, text: str) -> list[int]:
        return result_ids(self.tok, text)

    def text(self, ids) -> str:
        specials = set(self.tok.special_tokens.values())
        return self.tok.decode([i for i in ids if i not in specials]).strip()


SMOL_SYSTEM = ("You are a helpful assistant that can use tools. To use a tool, reply with one line "
               "and nothing else: CALL: tool(argument). You then get a RESULT; answer with one "
               "short sentence that uses it. If no tool helps, answer directly. Tools:\n{tools}")
SMOL_EXAMPLES = (("What is 12 times 11?", "calculator(12*11)", "132", "12 times 11 is 132."),
                 ("What is the capital of Peru?", "lookup(capital of Peru)", "Lima",
                  "The capital of Peru is Lima."))
_SMOL_CALL = re.compile(r"CALL:?\s*([A-Za-z_]\w*\s*\([^)\n]*\))")


class SmolForm:
    """SmolLM2's agent template: its chat template, a system message listing the tools, and two
    worked examples as earlier turns; calls and results in plain text."""

    def __init__(self, tok, tools=TOOLS):
        self.tok = tok
        self.start_id, self.end_id = tok.special_tokens[smollm.IM_START], tok.special_tokens[smollm.IM_END]
        self.stop_ids = (self.end_id, tok.eot_id)
        listing = "\n".join(f"- {t.name}: {t.about}, e.g. CALL: {t.name}({t.example})"
                            for t in (tools or TOOLS).values())
        self.system = SMOL_SYSTEM.format(tools=listing)

    def _turn(self, role: str, content: str) -> list[int]:
        return [self.start_id, *self.tok.encode(f"{role}\n{content}"), self.end_id, *self.tok.encode("\n")]

    def start(self, question: str, room: int) -> tuple[list[int], int]:
        q = self.tok.encode(question)
        cut = max(0, len(q) - room)
        msgs = [("system", self.system)]
        for ask, call, result, ans in SMOL_EXAMPLES:
            msgs += [("user", ask), ("assistant", f"CALL: {call}"), ("tool", f"RESULT: {result}"),
                     ("assistant", ans)]
        msgs.append(("user", self.tok.decode(q[:len(q) - cut])))
        ids = [i for role, content in msgs for i in self._turn(role, content)]
        return ids + [self.start_id, *self.tok.encode("assistant\n")], cut

    def split(self, new: list[int]) -> tuple[list[int], str | None]:
        m = _SMOL_CALL.search(self.tok.decode(new))
        if not m:
            return new, None
        k = next(k for k in range(1, len(new) + 1) if _SMOL_CALL.search(self.tok.decode(new[:k])))
        return new[:k], m.group(1)          # what it wrote after the call is not kept

    def result_ids(self, text: str) -> list[int]:
        return ([self.end_id, *self.tok.encode("\n")] + self._turn("tool", f"RESULT: {text}")
                + [self.start_id, *self.tok.encode("assistant\n")])

    def text(self, ids) -> str:
        return self.tok.decode([i for i in ids if i not in self.stop_ids]).strip()


def form_for(loaded, tools=TOOLS):
    """The template that fits the model: SmolLM2's for the real model, ours otherwise."""
    if loaded.facts.get("architecture") == "llama":
        return SmolForm(loaded.tokenizer, tools)
    return OurForm(loaded.tokenizer)
