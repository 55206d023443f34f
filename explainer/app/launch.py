"""`python -m explainer serve [streamlit options]`: the app's server, ready before its first visitor.

A Streamlit server runs nothing of ours until a browser opens a page, so each first visitor waited
while the page imported torch and plotly, read the models and tokenizers and loaded SmolLM2. Here
the server starts in this process and, as soon as its runtime exists, a thread does that work
(`warm_everything`): the caches it fills are the ones the pages use. `streamlit run Home.py`
still works; its first visitor starts the same warm-up instead (`ui.warm_up`).
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY = "Ready for visitors"


def warm_everything() -> None:
    """What each page's first visitor would wait for: the app's modules (and with them torch,
    plotly and the library), the shipped models, tokenizers and step times (`ui._warm`), and the
    real LLM with its tokenizer and its file's header."""
    import importlib
    import pkgutil

    from .. import app
    for m in pkgutil.iter_modules(app.__path__):
        importlib.import_module(f"{app.__name__}.{m.name}")
    from . import real, ui
    ui.one_torch_thread()
    ui._warm()
    if real.available():
        real._real_model()
        real.real_tokenizer()


def _warm_when_ready() -> None:
    from streamlit import runtime
    while not runtime.exists():            # cache_data needs the server's runtime to store into
        time.sleep(0.05)
    # st calls outside a page run warn "missing ScriptRunContext" each time: expected here
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    began = time.perf_counter()
    try:
        warm_everything()
    except Exception:  # noqa: BLE001 - then the first visitors compute what they need themselves
        logging.getLogger(__name__).exception("warming up before the first visitor failed")
        return
    print(f"  {READY} (warmed up in {time.perf_counter() - began:.1f} s)", flush=True)


def main(args: list[str]) -> int:
    threading.Thread(target=_warm_when_ready, name="explainer-warm-up-at-start", daemon=True).start()
    from streamlit.web import cli
    sys.argv = ["streamlit", "run", str(ROOT / "Home.py"), *args]
    return cli.main()
