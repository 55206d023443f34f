"""Tool-use training conversations, and the held-out questions the figures are measured on.

Each conversation is a question and what the assistant does with it, in segments:

    ("calculator(23*47)", "1081", "The answer is 1081.")      call, result, answer
    (None, None, "How about porridge with fruit ...")           no tool: answered directly

Five kinds, mixed: arithmetic (calculator), capitals (lookup), made-up countries in an imaginary
atlas (`atlas_question`: the capital can only be read from the result), made-up countries the
lookup does not find (the assistant says so), and ordinary instruction pairs that need no tool
(so the agent still answers "What should I eat today?" itself). Encoded with `encode`, the loss mask is 1
on the model's own tokens (the call and the answer, each with its <|end|>) and 0 on the question
and on the result the tool wrote.

Held out (never in any training set, so a right answer can only come from the tool):
HELDOUT_COUNTRIES (a fixed fifth of the countries that neither the pretraining text nor the
instruction data mention, whose capital is undisputed and whose name is not part of another's,
as Sudan is of South Sudan) and the arithmetic questions whose
(a, op, b) hashes into the held-out tenth (`is_heldout_sum`).
"""
from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

from ..corpus.everyday import COUNTRIES as TAUGHT
from ..corpus.instructions import instruction_data
from ..gpt import chat
from .calls import CALL, result_ids
from .tools import calculator, lookup
from .capitals import CAPITALS

OPS = {"plus": "+", "minus": "-", "times": "*", "divided by": "/"}
ASK_SUM = ("What is {a} {op} {b}?", "How much is {a} {op} {b}?", "Can you work out {a} {op} {b}?",
           "What is {a} {sym} {b}?", "Calculate {a} {op} {b}.", "What do you get for {a} {op} {b}?")
ASK_CAPITAL = ("What is the capital of {c}?", "Which city is the capital of {c}?",
               "What's the capital city of {c}?", "Tell me the capital of {c}.",
               "What is the capital of {c} called?")
VOWELS, CONSONANTS = "aeiouy", "bcdfghjklmnpqrstvwxz"
MIX = {"sum": 0.3, "capital": 0.2, "atlas": 0.2, "unknown": 0.1, "plain": 0.2}
CONVERSATIONS = 6000


def _heldout_country(name: str, note: str) -> bool:
    taught = {c for c, _, _ in TAUGHT}
    inside = any(name.lower() in other.lower() for other, _, _ in CAPITALS if other != name)  # Sudan
    return name not in taught and not note and not inside and zlib.crc32(name.encode()) % 5 == 0


HELDOUT_COUNTRIES = tuple(c for c, _, note in CAPITALS if _heldout_country(c, note))
TRAIN_COUNTRIES = tuple(c for c, _, _ in CAPITALS if c not in HELDOUT_COUNTRIES)


def is_heldout_sum(a: int, op: str, b: int) -> bool:
    """A fixed tenth of the (a, op, b) triples with a number above 20 (the instruction data's sums
    stay at or below 20, so none of these is there either)."""
    return max(a, b) > 20 and zlib.crc32(f"{a} {op} {b}".encode()) % 10 == 0


@dataclass(frozen=True)
class Conversation:
    question: str
    call: str | None          # "calculator(23*47)"; None: answered without a tool
    result: str | None        # what the tool returned
    answer: str               # the assistant's final words
    kind: str                 # "sum", "capital", "unknown", "plain"
    expected: str = ""        # the value a right answer contains (sums and capitals)


def sum_question(rng: random.Random, heldout: bool) -> Conversation:
    while True:
        op = rng.choice(tuple(OPS))
        a, b = rng.randint(10, 99), rng.randint(2, 99)
        if op == "divided by":
            a = a * b                                     # whole results only
        elif op == "minus" and b > a:
            a, b = b, a
        if is_heldout_sum(a, op, b) == heldout:
            break
    q = rng.choice(ASK_SUM).format(a=a, op=op, b=b, sym=OPS[op])
    call = f"calculator({a}{OPS[op]}{b})"
    result = calculator(f"{a}{OPS[op]}{b}")
    return Conversation(q, call, result, f"The answer is {result}.", "sum", result)


def capital_question(rng: random.Random, country: str) -> Conversation:
    q = rng.choice(ASK_CAPITAL).format(c=country)
    result = lookup(f"capital of {country}")
    return Conversation(q, f"lookup(capital of {country})", result,
                        f"The capital of {country} is {result}.", "capital", result)


_HELDOUT_NAMES = [n.lower() for c, cap, _ in CAPITALS if c in HELDOUT_COUNTRIES
                  for n in (c.removeprefix("the "), cap)]
_PLACES = [w for c, cap, _ in CAPITALS if c in TRAIN_COUNTRIES
           for w in f"{c} {cap}".replace("the ", "").split() if len(w) > 3 and w.isalpha()]


def made_up_word(rng: random.Random) -> str:
    """A name that exists nowhere: mostly the start of one real place name and the end of
    another ('Gabo' + 'shkek'), so it is made of the same pieces as real names; otherwise
    pronounceable nonsense of any letters ('Kelvoraq'). Many different ones teach the model to
    copy a name it has never seen, rather than to recall one it knows."""
    while True:
        if rng.random() < 0.7:
            a, b = rng.choice(_PLACES), rng.choice(_PLACES)
            word = (a[:rng.randint(2, len(a) - 1)] + b[rng.randint(1, len(b) - 2):]).capitalize()
        else:
            out = [rng.choice(VOWELS + CONSONANTS)]
            for _ in range(rng.randint(2, 9)):
                vowel_next = rng.random() < (0.75 if out[-1] in CONSONANTS else 0.2)
                out.append(rng.choice(VOWELS if vowel_next else CONSONANTS))
            word = "".join(out).capitalize()
        if not any(h in word.lower() for h in _HELDOUT_NAMES):      # no held-out name by chance
            return word


def made_up_country(rng: random.Random) -> str:
    """A country that does not exist ('Kelvoraq', 'the Dumo Islands', 'North Tevani')."""
    while True:
        name = made_up_word(rng)
        form = rng.random()
        if form < 0.15:
            name = f"{made_up_word(rng)} {name}"
        elif form < 0.25:
            name = f"the {name} Islands"
        elif form < 0.3:
            name = f"{rng.choice(('North', 'South', 'New', 'Saint'))} {name}"
        if lookup(name).startswith("error"):
            return name


def atlas_question(rng: random.Random) -> Conversation:
    """A made-up country looked up in an imaginary atlas (training only: the real lookup tool
    knows only the 193 real countries). Its capital cannot be remembered, only read from the
    result, so the model learns to copy the result into its answer; without these it recalled
    the capitals it had seen and made one up for a country it had not."""
    c, capital = made_up_country(rng), made_up_word(rng)
    q = rng.choice(ASK_CAPITAL).format(c=c)
    return Conversation(q, f"lookup(capital of {c})", capital, f"The capital of {c} is {capital}.",
                        "atlas", capital)


def unknown_question(rng: random.Random) -> Conversation:
    c = made_up_country(rng)
    q = rng.choice(ASK_CAPITAL).format(c=c)
    return Conversation(q, f"lookup(capital of {c})", lookup(f"capital of {c}"),
                        f"I could not find {c}, so I do not know its capital.", "unknown")


def _needs_tool(prompt: str) -> bool:
    p = prompt.lower()
    return "capital" in p or any(f" {op} " in p for op in OPS)


def conversations(n: int = CONVERSATIONS, seed: int = 0) -> list[Conversation]:
    """n training conversations, kinds drawn by MIX; no held-out country or sum among them."""
    rng = random.Random(seed)
    plain = [p for p in instruction_data(seed).train if p.quality == "good" and not _needs_tool(p.prompt)]
    kinds, weights = list(MIX), list(MIX.values())
    out = []
    for _ in range(n):
        kind = rng.choices(kinds, weights)[0]
        if kind == "sum":
            out.append(sum_question(rng, heldout=False))
        elif kind == "capital":
            out.append(capital_question(rng, rng.choice(TRAIN_COUNTRIES)))
        elif kind == "atlas":
            out.append(atlas_question(rng))
        elif kind == "unknown":
            out.append(unknown_question(rng))
        else:
            p = rng.choice(plain)
            out.append(Conversation(p.prompt, None, None, p.response, "plain"))
    return out


def heldout_questions(n_sums: int = 40, seed: int = 1) -> list[Conversation]:
    """The held-out set: every held-out country once, and `n_sums` held-out arithmetic questions."""
    rng = random.Random(seed)
    return ([capital_question(rng, c) for c in HELDOUT_COUNTRIES]
            + [sum_question(rng, heldout=True) for _ in range(n_sums)])


def encode(tok, conv: Conversation) -> tuple[list[int], list[int]]:
    """(ids, mask) of one conversation; mask 1 on the call and the answer (each with <|end|>)."""
    head, _ = chat.prompt_ids(tok, conv.question)
    end, sp = chat.special_ids(tok)[chat.END], tok.special_tokens
    ids, mask = list(head), [0] * len(head)
    if conv.call is not None:
        call = [sp[CALL], *tok.encode(conv.call), end]
        result = result_ids(tok, conv.result)
        ids += call + result
        mask += [1] * len(call) + [0] * len(result)
    answer = tok.encode(conv.answer) + [end]
    return ids + answer, mask + [1] * len(answer)


def masked_pieces(tok, conv: Conversation) -> list[chat.MaskedPiece]:
    """The conversation's tokens with their loss mask, for views.tokens.masked_html: the call and
    the answer are learned from; the question and the tool's result are context only."""
    from ..gpt.tokenizer import printable
    ids, mask = encode(tok, conv)
    names = {v: k for k, v in tok.special_tokens.items()}
    return [chat.MaskedPiece(names.get(i) or printable(tok.token_bytes(i)), i, bool(m), i in names)
            for i, m in zip(ids, mask)]
