"""The agent's tools against hostile and sloppy input: they answer with a text, never raise, never
compute what is too big, never run code."""
import time

import pytest

from explainer.agents.capitals import ALIASES, CAPITALS
from explainer.agents.tools import TOOLS, calculator, find_country, lookup, normalize, run_tool


@pytest.mark.parametrize("expr, want", [
    ("23*47", "1081"), ("2+3*4", "14"), ("(2+3)*4", "20"), ("7/2", "3.5"), ("10/5", "2"),
    ("2**10", "1024"), ("2^10", "1024"), ("-3 + 1", "-2"), ("2.5*4", "10"), ("1.5+1.25", "2.75"),
    ("23 x 47", "1081"), ("23 × 47", "1081"), ("12 ÷ 4", "3"), ("1,000 + 1", "1001"),
    ("٢٣*٢", "46"), ("１２+1", "13"), ("10**15", "1000000000000000"),
])
def test_calculator_computes_arithmetic(expr, want):
    assert calculator(expr) == want


@pytest.mark.parametrize("expr, error", [
    ("9**9**9", "exponent too large"), ("10**16", "number too large"), ("99**99", "number too large"),
    ("1e15*10", "number too large"), ("9" * 10_000, "number too large"), ("1/0", "division by zero"),
    ("0**-1", "division by zero"), ("(-8)**0.5", "no real root"), ("", "empty expression"),
    ("   ", "empty expression"),
    ("__import__('os').system('ls')", "only numbers"), ("eval('1')", "only numbers"),
    ("open('/etc/passwd')", "only numbers"), ("[1, 2]", "only numbers"), ("1 if 1 else 2", "only numbers"),
    ("lambda: 1", "only numbers"), ("2 +* 3", "not an arithmetic expression"), ("1..2", "not an arithmetic"),
    ("()", "only numbers"), ("1+" * 60, "too long"), ("True", "only numbers"),
])
def test_calculator_refuses_with_an_error_text(expr, error):
    out = calculator(expr)
    assert out.startswith("error:") and error in out


def test_huge_powers_are_refused_before_they_are_computed():
    """The bound is checked with logarithms first: every case here would take minutes (or all
    the memory) if computed. A generous limit, so a busy machine cannot fail it."""
    t0 = time.perf_counter()
    for expr in ("9**9**9", "99**100", "(10**15)**100", "2**100**100", "9**99", "-9**99"):
        assert calculator(expr).startswith("error:")
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("query, want", [
    ("capital of France", "Paris"), ("France", "Paris"), ("FRANCE", "Paris"), ("  the capital of france ", "Paris"),
    ("capital of the Netherlands", "Amsterdam"), ("Netherlands", "Amsterdam"), ("Holland", "Amsterdam"),
    ("Ivory Coast", "Yamoussoukro"), ("Côte d’Ivoire", "Yamoussoukro"), ("Burma", "Naypyidaw"),
    ("Kyrgystan", "Bishkek"), ("St. Lucia", "Castries"), ("USA", "Washington, D.C."),
    ("Bosnia & Herzegovina", "Sarajevo"), ("capital: Chad", "N'Djamena"), ("What is the capital of Peru?", "Lima"),
])
def test_lookup_matches_forgivingly(query, want):
    assert lookup(query) == want


@pytest.mark.parametrize("query", ["Atlantis", "capital of Narnia", "Paris", "x" * 40])
def test_lookup_says_when_it_knows_nothing(query):
    assert lookup(query).startswith("error: no entry for")


@pytest.mark.parametrize("query", ["", "   ", "a" * 500])
def test_lookup_refuses_empty_and_long_queries(query):
    assert lookup(query).startswith("error:")


def test_the_table_holds_the_193_un_member_states_each_once():
    names = [c for c, _, _ in CAPITALS]
    assert len(CAPITALS) == 193 and len({normalize(n) for n in names}) == 193
    assert all(cap.strip() for _, cap, _ in CAPITALS)
    for alias, country in ALIASES.items():
        assert find_country(alias)[0] == country, alias


def test_an_unknown_tool_is_a_result_text_naming_the_tools():
    assert run_tool("weather", "Paris") == "error: unknown tool 'weather'; tools: calculator, lookup"
    assert "tools are off" in run_tool("calculator", "1+1", tools={})
    assert run_tool("calculator", "1+1") == "2" and set(TOOLS) == {"calculator", "lookup"}
