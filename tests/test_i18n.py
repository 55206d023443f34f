"""The app in Spanish and German: the catalogs are complete and their placeholders match, and every
page rendered in each language shows no text of the app's left in English.

How "left in English" is found without a dictionary: each page is rendered in Spanish and in
German; a text that comes out the same in both was not translated (names, numbers and the models'
own text aside: the models write English, shown inside `lang="en"`), and it is English if it holds
an English function word or is itself one of the catalogs' source texts.
"""
import doctest
import html
import json
import re

import pytest
from pagetest import ROOT
from streamlit.testing.v1 import AppTest

from explainer import i18n
from explainer.i18n import catalogs

PAGES = ["Home.py", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))]
# Words that are English and no Spanish or German word ("was", "will", "in", "an" are German too).
ENGLISH = set("""the and of to is are with you your this that what how from for which it its on by
not can has have only each every these those they their them would should could does doesn't don't
isn't here there when where who why after before into than then while about""".split())


def test_doctests():
    assert doctest.testmod(i18n).failed == 0


@pytest.mark.parametrize("code", catalogs.TARGETS)
def test_every_text_is_translated(code):
    c = catalogs.completeness(code)
    print(f"{i18n.LANGUAGES[code]}: {c.percent:.1f}% of {c.total} texts")
    assert not c.missing, f"{len(c.missing)} texts without a {code} translation " \
        f"(python -m explainer catalogs --update, then fill them in): {c.missing[:10]}"


@pytest.mark.parametrize("code", catalogs.TARGETS)
def test_translations_keep_the_placeholders(code):
    assert not catalogs.placeholder_mismatches(code)


@pytest.mark.parametrize("code", catalogs.TARGETS)
def test_one_text_one_translation(code):
    """A text used in two areas is translated the same in both (the merged catalog keeps one)."""
    seen, clashes = {}, []
    for area in catalogs.AREAS:
        for key, value in catalogs.translations(area, code).items():
            if value and seen.setdefault(key, (area, value))[1] != value:
                clashes.append((key, seen[key], (area, value)))
    assert not clashes, clashes[:10]


def test_every_source_with_texts_is_in_an_area():
    assert not catalogs.unlisted_sources()


def test_a_missing_translation_shows_the_source_text_and_is_counted(tmp_path, monkeypatch):
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "x.po").write_text('msgid "Hello"\nmsgstr "Hola"\n\nmsgid "Bye"\nmsgstr ""\n')
    monkeypatch.setattr(i18n, "HERE", tmp_path)
    i18n.catalog.cache_clear()
    try:
        with i18n.language("es"):
            assert (i18n._("Hello"), i18n._("Bye"), i18n._("New")) == ("Hola", "Bye", "New")
    finally:
        i18n.catalog.cache_clear()


def test_numbers_follow_the_language():
    assert [i18n.with_language(c, i18n.number, 12345.5, "#,##0.0") for c in ("en", "es", "de")] == \
        ["12,345.5", "12.345,5", "12.345,5"]


# ---------------------------------------------------------------------------------------------
# Every page, rendered


def _strip_html(body: str) -> str:
    body = re.sub(r"<style.*?</style>|<script.*?</script>", " ", body, flags=re.S)
    body = re.sub(r'<(\w+)[^>]*\blang="en"[^>]*>.*?</\1>', " ", body, flags=re.S)   # the model's text
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _figure_texts(spec: str) -> list[str]:
    fig, out = json.loads(spec), []
    layout = fig.get("layout", {})

    def title(obj):
        t = (obj or {}).get("title")
        return t.get("text") if isinstance(t, dict) else t
    out += [title(layout), *(title(v) for k, v in layout.items() if k[1:5] == "axis" or k[:5] == "xaxis"
                             or k[:5] == "yaxis")]
    out += [a.get("text") for a in layout.get("annotations", [])]
    for trace in fig.get("data", []):
        out += [trace.get("name"), trace.get("hovertemplate")]
    return [re.sub(r"%\{[^}]*\}|<[^>]+>", " ", t) for t in out if isinstance(t, str)]


def visible_texts(at: AppTest) -> set[str]:
    """The texts a visitor reads: bodies, labels, help texts, options, table headers and chart
    titles, axes, legends and hover texts; not code blocks (source code, IDs, the models' text) nor
    JSON views (a file's own keys)."""
    found = []

    def walk(node):
        proto, kind = getattr(node, "proto", None), type(node).__name__
        if proto is not None and kind not in ("Code", "Exception", "Json"):    # Json: a file's own keys
            for field, value in proto.ListFields():
                if field.name == "body":
                    found.append(_strip_html(value) if kind in ("Html", "Markdown", "Caption") else value)
                elif field.name in ("label", "help", "placeholder", "caption"):
                    found.append(value)
                elif field.name == "options" and kind != "Dataframe":
                    found.extend(o if isinstance(o, str) else getattr(o, "label", "") for o in value)
                elif field.name == "spec":
                    found.extend(_figure_texts(value))
            if kind in ("Table", "Dataframe"):
                try:
                    found.extend(str(c) for c in node.value.columns)
                except Exception:       # noqa: BLE001 - a table without a frame has no headers
                    pass
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at._tree)
    return {t.strip() for t in found if isinstance(t, str) and re.search(r"[A-Za-z]{3}", t or "")}


def english_words(text: str) -> list[str]:
    """The English function words of a text, code spans (`name`) and URLs left out."""
    prose = re.sub(r"`[^`]*`|https?://\S+", " ", text)
    return [w for w in re.findall(r"[A-Za-z']+", prose) if w.lower() in ENGLISH]


def render(page: str, code: str, models_dir) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.query_params["lang"] = code
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def sources() -> set[str]:
    """The catalogs' source texts, but those both languages write as English does ("Tokens")."""
    texts = {t.id if isinstance(t.id, str) else t.id[0]
             for files in catalogs.AREAS.values() for t in catalogs.extract(files)}
    return {t for t in texts if any(i18n.catalog(code).get(t) != t for code in catalogs.TARGETS)}


# The three pages that load and run SmolLM2 when first drawn (15-50 s each under make test's load)
# in make test-slow; the other six in make test.
HEAVY = {"pages/2_Pretraining.py", "pages/3_Instruction_tuning.py", "pages/6_Two_files.py"}


@pytest.mark.parametrize("page", [pytest.param(p, marks=pytest.mark.slow) if p in HEAVY else p for p in PAGES],
                         ids=lambda p: p.split("/")[-1][:-3])
def test_no_english_left_on_the_page(page, shipped_models, monkeypatch, sources):
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(shipped_models))
    es, de = (visible_texts(render(page, code, shipped_models)) for code in ("es", "de"))
    left = sorted(t for t in es & de if english_words(t) or t in sources)
    left += sorted(t for t in es ^ de if t in sources)        # a source text shown untranslated in one
    assert not left, f"{len(left)} texts still in English on {page} in Spanish and German: {left[:15]}"


def test_no_text_is_marked_inside_an_f_string():
    """`f"... {_('none')}"`: the extractor does not look inside f-strings, so such a text never
    reaches a catalog and stays English (the Context window's legend once did)."""
    import io
    import tokenize
    found = []
    for files in catalogs.AREAS.values():
        for name in files:
            source = (catalogs.ROOT / name).read_text(encoding="utf-8")
            for tok in tokenize.generate_tokens(io.StringIO(source).readline):
                if tok.type == tokenize.STRING and re.match(r"(?i)[rb]*f", tok.string) and \
                        re.search(r"\b(_|N_|ngettext)\(\s*[\"']", tok.string):
                    found.append(f"{name}:{tok.start[0]}")
    assert not found, found
