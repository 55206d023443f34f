"""Run every notebook top to bottom on a fresh kernel and write it as one self-contained HTML
file per notebook (figures and plotly.js inside, nothing loaded from the internet), for a teacher
to hand out: `python notebooks/handouts.py [--short] [--out handouts] [names ...]`.

The tests use `execute` and `to_html` too.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def notebooks(names=()) -> list[Path]:
    """The notebooks in this folder, in order; `names` picks some ("05" or "05_context_window")."""
    paths = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    return [p for p in paths if not names or any(p.stem.startswith(n) for n in names)]


def execute(path: Path, short: bool = True, timeout: int = 900) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook on a fresh kernel of this Python (its folder as working directory, the
    project on the path); returns the executed notebook and the seconds it took. A cell that
    raises raises nbclient's CellExecutionError with the cell and the traceback."""
    book = nbformat.read(path, as_version=4)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env["EXPLAINER_NB_SHORT"] = "1" if short else "0"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    client = NotebookClient(book, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    # "python3" with argv[0] "python" is started with sys.executable (jupyter_client): this venv
    t0 = time.perf_counter()
    client.execute(env=env)
    return book, time.perf_counter() - t0


# plotly's notebook renderer puts a MathJax loader from a CDN before every figure (hard-wired in
# plotly.io._base_renderers); it is only for LaTeX in figure text, which no figure here has.
PLOTLY_MATHJAX = re.compile(r'<script src="https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^"]*"></script>')

# The lab template without what it would fetch from a CDN: require.js, MathJax and the widget
# renderer (the notebooks need none of them; a widget shows as its text in a handout).
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock -%}
{%- block html_head_js_mathjax -%}{%- endblock -%}
{%- block jupyter_widgets -%}{%- endblock -%}
"""


def to_html(book: nbformat.NotebookNode) -> str:
    """The executed notebook as one HTML page: plotly figures are the notebook renderer's inline
    <div> and <script>, plotly.js included once in the page (nb.setup())."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"handout.html.j2": OFFLINE_TEMPLATE})])
    exporter.template_file = "handout.html.j2"
    body, _ = exporter.from_notebook_node(book)
    return PLOTLY_MATHJAX.sub("", body)


def remote_scripts(page: str) -> list[str]:
    """The src of every <script src="http(s)://..."> tag of a page: a handout must have none.
    An HTML parser, not a regex: plotly.js itself holds such text inside its JavaScript strings."""
    from html.parser import HTMLParser
    found = []

    class Scripts(HTMLParser):
        def handle_starttag(self, tag, attrs):
            src = dict(attrs).get("src") or ""
            if tag == "script" and re.match(r"(?:https?:)?//", src):
                found.append(src)
    Scripts().feed(page)
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebooks to run (default: all), e.g. 01 05")
    ap.add_argument("--short", action="store_true", help="the short setting: training cells run for seconds")
    ap.add_argument("--out", default=str(ROOT / "handouts"), help="folder for the HTML files")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in notebooks(args.names):
        book, seconds = execute(path, short=args.short)
        target = out / f"{path.stem}.html"
        target.write_text(to_html(book), encoding="utf-8")
        print(f"{target}  ({seconds:.0f} s to run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
