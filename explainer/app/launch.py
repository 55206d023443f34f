"""`python -m explainer serve [streamlit options]`: the app's server, ready before its first visitor.

A Streamlit server runs nothing of ours until a browser opens a page, so each first visitor waited
while the page imported torch and plotly, read the models and tokenizers and loaded SmolLM2. Here
the server starts in this process and, as soon as its runtime exists, a thread does that work
(`warm_everything`) and then opens every page once as a browser would (`visit_every_page`), so
that what each page computes with its default settings is cached too. The log says "Ready for
visitors" when it is done. `streamlit run Home.py`
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


def visit_pages(url: str, names: list[str], timeout: float = 300) -> dict[str, float | None]:
    """Open each page once as a browser would, through Streamlit's websocket protocol at `url`
    (ws://host:port/_stcore/stream): ask for a run of the page with its default settings, read
    until the run has finished. Seconds per page, from the request to the run's end (None: it
    could not be visited). No browser: this is the server's part of a page view."""
    import asyncio

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async def visit(name: str) -> float:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as ws:
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_name = name
            t0 = time.perf_counter()
            await ws.send(msg.SerializeToString())
            while True:
                reply = ForwardMsg()
                reply.ParseFromString(await asyncio.wait_for(ws.recv(), timeout))
                if reply.WhichOneof("type") == "script_finished":
                    return time.perf_counter() - t0

    async def visit_all() -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for _try in range(200):                      # until the server listens
            try:
                out[names[0]] = await visit(names[0])
                break
            except OSError:
                await asyncio.sleep(0.1)
        for name in names[len(out):]:
            try:
                out[name] = await visit(name)
            except Exception:  # noqa: BLE001 - that page's first visitor computes it
                out[name] = None
        return out
    return asyncio.run(visit_all())


PAGE_NAMES = [""] + [p.stem.split("_", 1)[1] for p in sorted((ROOT / "pages").glob("*.py"))]


def visit_every_page() -> dict[str, float | None]:
    """Every page once, on this process's server (its configured address and port), so that what
    a page computes with its default settings (the real model's answers, charts' data) is in the
    caches before the first visitor."""
    from streamlit import config
    host = config.get_option("server.address") or "127.0.0.1"
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return visit_pages(f"ws://{host}:{config.get_option('server.port')}/"
                       f"{base + '/' if base else ''}_stcore/stream", PAGE_NAMES)


def _warm_when_ready() -> None:
    from streamlit import runtime
    while not runtime.exists():            # cache_data needs the server's runtime to store into
        time.sleep(0.05)
    # st calls outside a page run warn "missing ScriptRunContext" each time: expected here
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    began = time.perf_counter()
    try:
        warm_everything()
        visit_every_page()
    except Exception:  # noqa: BLE001 - then the first visitors compute what they need themselves
        logging.getLogger(__name__).exception("warming up before the first visitor failed")
        return
    print(f"  {READY} (warmed up in {time.perf_counter() - began:.1f} s)", flush=True)


def main(args: list[str]) -> int:
    threading.Thread(target=_warm_when_ready, name="explainer-warm-up-at-start", daemon=True).start()
    from streamlit.web import cli
    sys.argv = ["streamlit", "run", str(ROOT / "Home.py"), *args]
    return cli.main()
