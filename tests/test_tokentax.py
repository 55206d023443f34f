"""The token tax: the notes, each tokenizer's counts (its own encode length), the ratios and the
sentences the page shows, the chart and its table, and the predict-then-reveal answer."""
import doctest

import pytest

from explainer.classroom import questions as Q
from explainer.corpus.languages import NOTES, SOURCE
from explainer.gpt.paramfile import ParamFileError, load_model
from explainer.gpt.tokenizer import cl100k
from explainer.phases import tokentax as tt
from explainer.real import smollm
from explainer.views.tokentax import tax_chart, tax_table

ASKED = {"English", "Spanish", "German", "Finnish", "Hindi", "Arabic", "Chinese", "Swahili", "Japanese"}
needs_smol = pytest.mark.skipif(not smollm.available(), reason=f"SmolLM2 not installed: {smollm.INSTALL}")


@pytest.fixture(scope="module")
def toks():
    return tt.tokenizers(smollm.tokenizer() if smollm.available() else None)


def test_doctests():
    assert doctest.testmod(tt).failed == 0


def test_the_notes_are_one_source_in_about_ten_languages():
    langs = [n.language for n in NOTES]
    assert langs[0] == "English" and NOTES[0].text == SOURCE
    assert ASKED <= set(langs) and len(set(langs)) == len(langs) >= 10
    assert len({n.code for n in NOTES}) == len(NOTES)
    for n in NOTES:   # two sentences each, ending as its language ends them; none left in English
        assert n.text.strip() == n.text and n.text[-1] in ".。।"
        assert (n.text == SOURCE) == (n.code == "en")


def test_app_tokenizer_is_the_shipped_base_models(models_dir, toks):
    assert [n for n, _ in toks][:2] == [tt.APP, tt.GPT4]
    base = load_model(models_dir / "base.safetensors").tokenizer
    assert tt.base_tokenizer().enc._mergeable_ranks == base.enc._mergeable_ranks
    assert dict(toks)[tt.APP].encode(SOURCE) == base.encode(SOURCE)


def test_no_base_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ParamFileError, match="no such file"):
        tt.base_tokenizer(tmp_path / "base.safetensors")


def test_counts_are_each_tokenizers_own_encode_length_and_ratios_to_english(toks):
    rows = tt.token_tax(toks)
    assert [r.language for r in rows] == [n.language for n in NOTES]
    for r, n in zip(rows, NOTES):
        assert r.text == n.text and r.tokens[tt.BYTES] == len(n.text.encode("utf-8"))
        for name, t in toks:
            assert r.tokens[name] == len(t.encode(n.text)) == len(t.pieces(n.text))
            assert r.ratio[name] == pytest.approx(r.tokens[name] / rows[0].tokens[name])
    assert all(v == 1.0 for v in rows[0].ratio.values())
    hindi = tt.row_of(rows, "Hindi")
    # this app's BPE learned English only: Devanagari is all single bytes, one token each
    assert hindi.tokens[tt.APP] == hindi.tokens[tt.BYTES]
    assert all(hindi.ratio[n] > 2 for n, _ in toks)             # the tax is real in every tokenizer
    with pytest.raises(ValueError, match="no note in 'Klingon'"):
        tt.row_of(rows, "Klingon")


@needs_smol
def test_the_sentence_says_smollm2s_hindi_ratio(toks):
    rows = tt.token_tax(toks)
    smol = dict(toks)[tt.SMOL]
    h, e = len(smol.encode(tt.row_of(rows, "Hindi").text)), len(smol.encode(SOURCE))
    assert tt.costs_text(rows, tt.SMOL) == (f"in SmolLM2, Hindi costs {h / e:.1f} times English "
                                            f"({h} tokens against {e})")
    assert tt.headline(rows, tt.SMOL) == f"In SmolLM2, Hindi costs {h / e:.1f} times English ({h} tokens against {e})."


def test_times_and_the_published_comparison(toks):
    assert (tt.times(5.111), tt.times(1.0), tt.times(12.04)) == ("5.1", "1.0", "12")
    rows = tt.token_tax(toks)
    names = [n for n, _ in toks]
    hi, lang, name = tt.widest(rows, names)
    assert hi == max(r.ratio[n] for r in rows for n in names)
    said = tt.beside_published(rows, names)
    assert said.startswith("Petrov et al. (2023) measured up to 15 times")
    label = "this app's BPE" if name == tt.APP else name            # mid-sentence
    assert f"ours shows up to {tt.times(hi)} times, for {lang} in {label} (and " in said


def test_chart_has_a_series_per_tokenizer_and_the_table_the_same_figures(toks):
    rows = tt.token_tax(toks)
    names = [n for n, _ in toks]
    fig = tax_chart(rows, names)
    assert [t.name for t in fig.data] == names + [tt.BYTES]
    assert len({t.marker.pattern.shape for t in fig.data[:-1]}) == len(names)   # not colour alone
    for t, n in zip(fig.data, names):
        assert list(t.y) == [r.ratio[n] for r in rows]
    table = tax_table(rows, names)
    hindi = next(r for r in table if r["Language"] == "Hindi")
    r = tt.row_of(rows, "Hindi")
    assert hindi[tt.GPT4] == f"{r.tokens[tt.GPT4]} ({tt.times(r.ratio[tt.GPT4])}×)"


@pytest.mark.parametrize("tok", [cl100k(), *([smollm.tokenizer()] if smollm.available() else [])],
                         ids=lambda t: t.name)
def test_question_answer_is_the_tokenizers_hindi_ratio(tok):
    q = Q.QUESTIONS["tokens-tax"]
    a = q.answer(tok)
    hindi = next(n.text for n in NOTES if n.language == "Hindi")
    x = len(tok.encode(hindi)) / len(tok.encode(SOURCE))
    assert a.value == pytest.approx(x) and a.choice in q.choices
    assert a.choice == ("Under 2×" if x < 2 else "2× to 4×" if x < 4 else "4× to 8×" if x < 8 else "8× or more")
    assert a.detail.startswith(f"In {tok.name}, Hindi costs {tt.times(x)} times English")


def test_bench_prints_each_tokenizers_hindi_ratio(toks):
    from explainer.bench.suite import token_tax_rows
    printed = []
    res = token_tax_rows(lambda *r: printed.append(r))
    rows = tt.token_tax(toks)
    hindi = tt.row_of(rows, "Hindi")
    assert [r[0] for r in printed] == [f"token tax, {n}: Hindi | widest (x English, one note)"
                                       for n in [*dict(toks), tt.BYTES]]
    for (_, value, _), n in zip(printed, [*dict(toks), tt.BYTES]):
        assert value.startswith(f"x{tt.times(hindi.ratio[n])} | ")
        assert res[n]["Hindi"] == round(hindi.ratio[n], 2)


def test_bench_without_the_base_model_says_so(monkeypatch, tmp_path):
    from explainer.bench.suite import token_tax_rows
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(tmp_path))
    printed = []
    assert "no such file" in token_tax_rows(lambda *r: printed.append(r))["skipped"]
    assert printed[0][1].startswith("skipped: ")
