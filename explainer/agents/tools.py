"""The agent's tools: small, safe functions that take the text of a call and return a text.

A tool never raises on bad input: whatever the model wrote, it gets a result text back, starting
with "error:" when the call could not be done, so the model can read what went wrong.

    >>> calculator("23*47")
    '1081'
    >>> calculator("9**9**9")
    'error: number too large'
    >>> lookup("capital of the ivory coast")
    'Yamoussoukro'

calculator: + - * / ( ), powers and decimals, parsed with `ast` and evaluated node by node (never
eval/exec); every operand and result is at most 1e15 and every exponent at most 100, and a power's
size is checked (with logarithms) before it is computed, so 9**9**9 is refused at once.
lookup: the capital of each UN member state (capitals.py), matched forgivingly (case, accents,
"the", other names, small typos). Neither reads files or the network.
"""
from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from .capitals import ALIASES, CAPITALS

MAX_VALUE = 1e15          # operands and results: beyond this a float loses whole units
MAX_EXPONENT = 100
MAX_CHARS = 100           # a longer expression is refused before parsing


class ToolError(ValueError):
    """A call the tool cannot do; its message becomes the result text ("error: ...")."""


# --------------------------------------------------------------------------------------------------
# calculator

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.Pow: operator.pow}
_SYMBOLS = str.maketrans({"×": "*", "x": "*", "X": "*", "÷": "/", "−": "-", "^": "**", ",": ""})


def _ascii_digits(text: str) -> str:
    """Any script's digits as 0-9: '٢٣' -> '23' (unicodedata knows each digit's value)."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def _check(x):
    if abs(x) > MAX_VALUE:
        raise ToolError("number too large")
    return x


def _value(node):
    """The value of one allowed node; ToolError for anything else (names, calls, strings...)."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _check(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _value(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        a, b = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Div) and b == 0:
            raise ToolError("division by zero")
        if isinstance(node.op, ast.Pow):
            if abs(b) > MAX_EXPONENT:
                raise ToolError("exponent too large (at most 100)")
            if a == 0 and b < 0:
                raise ToolError("division by zero")
            if a < 0 and b != int(b):
                raise ToolError("no real root of a negative number")
            if a != 0 and b * math.log10(abs(a)) > 15:       # checked before computing it
                raise ToolError("number too large")
        return _check(_OPS[type(node.op)](a, b))
    raise ToolError("only numbers and + - * / ( ) and ** are allowed")


def number_text(x) -> str:
    """1081 -> '1081', 3.5 -> '3.5', 2/3 -> '0.6666666667', 10/5 -> '2'."""
    if isinstance(x, float):
        if x.is_integer():
            return str(int(x))
        return f"{x:.10g}"
    return str(x)


def calculator(expression: str) -> str:
    """The value of an arithmetic expression as text, or 'error: ...'. '2 x 3' and '2^3' are
    read as '2*3' and '2**3'; digits of any script are read as 0-9."""
    text = _ascii_digits(str(expression)).translate(_SYMBOLS).strip()
    if not text:
        return "error: empty expression"
    if re.search(r"\d{17}", text):              # more digits than any number up to 1e15
        return "error: number too large"
    if len(text) > MAX_CHARS:
        return f"error: expression too long (at most {MAX_CHARS} characters)"
    if not re.fullmatch(r"[0-9.eE+\-*/() ]+", text):
        return "error: only numbers and + - * / ( ) and ** are allowed"
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return "error: not an arithmetic expression"
    try:
        return number_text(_value(tree.body))
    except ToolError as e:
        return f"error: {e}"
    except (OverflowError, RecursionError):
        return "error: number too large"


# --------------------------------------------------------------------------------------------------
# lookup

def normalize(name: str) -> str:
    """Lower case, no accents, no 'the', 'St.' as 'saint', punctuation as spaces:
    ' The Côte d’Ivoire ' -> 'cote d ivoire'."""
    s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", " ", s.replace("&", " and ")).strip()
    s = re.sub(r"^st\b", "saint", s)
    s = re.sub(r"\bst\b(?= )", "saint", s)
    return re.sub(r"^the ", "", s)


_TABLE = {normalize(c): (c, cap, note) for c, cap, note in CAPITALS}
_TABLE.update({normalize(a): _TABLE[normalize(c)] for a, c in ALIASES.items()})


def find_country(name: str) -> tuple[str, str, str] | None:
    """The table row for a country name, forgivingly: 'burma', 'The Netherlands', 'Kyrgystan'."""
    key = normalize(name)
    if key in _TABLE:
        return _TABLE[key]
    close = difflib.get_close_matches(key, list(_TABLE), n=1, cutoff=0.85)
    return _TABLE[close[0]] if close else None


def lookup(query: str) -> str:
    """A fact from the table: 'capital of France' (or just 'France') -> 'Paris'."""
    q = str(query).strip()
    if not q:
        return "error: empty query"
    if len(q) > MAX_CHARS:
        return f"error: query too long (at most {MAX_CHARS} characters)"
    m = re.match(r"^\s*(?:what is\s+)?(?:the\s+)?capital\s*(?:city\s*)?(?:of|:|,)?\s*(.*?)\s*\??$", q, re.I)
    name = m.group(1) if m else q
    row = find_country(name)
    if row is None:
        return f"error: no entry for {name[:40]}"
    return row[1]


# --------------------------------------------------------------------------------------------------
# the tool list

@dataclass(frozen=True)
class Tool:
    name: str
    run: Callable[[str], str]
    about: str          # one line for a tool list and a system message
    example: str        # an argument, as in name(example)


TOOLS: dict[str, Tool] = {
    "calculator": Tool("calculator", calculator, "arithmetic: + - * / ( ) and ** on numbers", "23*47"),
    "lookup": Tool("lookup", lookup, "the capital of any of the 193 UN member states", "capital of France"),
}


def run_tool(name: str, args: str, tools=TOOLS) -> str:
    """The result text of a call: the tool's answer, or 'error: ...' for an unknown tool."""
    if not tools:
        return "error: tools are off"
    tool = tools.get(name)
    if tool is None:
        return f"error: unknown tool {name[:30]!r}; tools: {', '.join(tools)}"
    return tool.run(args)
