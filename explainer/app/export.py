"""The Two files page's "Out into the ecosystem": the learner's model as a Hugging Face folder
(a zip) and as a GGUF, to download, and the GGUF opened with the same view as SmolLM2's."""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import streamlit as st

from .. import i18n
from ..export import to_gguf, to_hf
from ..gpt.paramfile import LoadedModel, cache_key
from ..i18n import _
from . import real, ui

SNIPPET = """from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("{name}")     # the unzipped folder
tok = AutoTokenizer.from_pretrained("{name}")
ids = tok("A flash flood watch will be in effect all", return_tensors="pt").input_ids
print(tok.decode(model.generate(ids, max_new_tokens=20, do_sample=False)[0]))"""


@st.cache_resource(show_spinner=False, max_entries=16)      # its spinner: export_panel, translated
def exported_gguf(key: str, _loaded: LoadedModel) -> Path | str:
    """The model's GGUF in a folder of its own (a new model, a new file: the GGUF view caches by
    path), or the reason there is none (a character tokenizer)."""
    folder = Path(tempfile.gettempdir()) / "explainer-gguf" / hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    try:
        return to_gguf.write(_loaded, folder / f"{_loaded.name}.gguf")
    except ValueError as e:
        return str(e)


def export_panel(loaded: LoadedModel) -> None:
    c1, c2 = ui.wrapping_columns(2, key="tf_export", narrow="36rem")
    c1.download_button(_("Hugging Face folder (.zip)"), data=lambda: to_hf.zipped(loaded),
                       file_name=f"{loaded.name}-hf.zip", mime="application/zip", on_click="ignore",
                       icon="📥", key="tf_dl_hf")
    with st.spinner(_("Writing your model as a GGUF ...")):
        gguf = exported_gguf(cache_key(loaded), loaded)
    if isinstance(gguf, str):       # the only reason there is none: a character tokenizer
        c2.info(_("No GGUF for this model: a character tokenizer has no merges, and llama.cpp reads "
                  "only byte-level BPE (ours or cl100k) for GPT-2. The Hugging Face folder works."),
                icon="ℹ️")
    else:
        c2.download_button(f"GGUF ({i18n.number(gguf.stat().st_size / 1e6, '0.0')} MB)", data=lambda: gguf.read_bytes(),
                           file_name=gguf.name, mime="application/octet-stream", on_click="ignore",
                           icon="📥", key="tf_dl_gguf")
    st.markdown(_("**In Python, with Hugging Face's `transformers`** (unzip the folder first); none "
                  "of this app's code is needed:"))
    st.code(SNIPPET.format(name=f"{loaded.name}"), language="python", wrap_lines=True)
    if isinstance(gguf, str):
        return
    st.markdown(_("**The GGUF, with the run file above or with llama.cpp:**"))
    st.code(f'python run.py {gguf.name} "A flash flood watch will be in effect all" --temperature 0\n'
            f'llama-cli -m {gguf.name} -p "A flash flood watch will be in effect all" -n 20 --temp 0',
            language="bash", wrap_lines=True)
    st.markdown(_("**Inside the GGUF**, read from its header as SmolLM2's is above: the same kind of "
                  "file, GPT-2's layout, every number a 32-bit float."))
    real.gguf_view(gguf, "tf_own_gguf")
    ui.explain(to_hf.files, to_gguf.write)
