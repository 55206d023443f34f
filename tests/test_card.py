"""A trained model's card (explainer/gpt/card.py): the facts every phase shares, written once."""
import doctest

from explainer.gpt import card as C
from explainer.gpt import chat
from explainer.gpt.model import GPT, GPTConfig
from explainer.gpt.tokenizer import char_tokenizer
from explainer.gpt.training import TrainConfig


def test_doctests():
    assert doctest.testmod(C).failed == 0


def test_a_model_made_from_another_names_it_and_a_chat_model_carries_its_template():
    tok = char_tokenizer("Hello, world.")
    model = GPT(GPTConfig(vocab_size=tok.n_vocab, block_size=8, n_layer=1, n_head=1, n_embd=8))
    facts = C.card("tuned", model, TrainConfig(seed=5), corpus="c", preset="tiny", base_model="base",
                   tokenizer=tok, pairs=4)
    assert list(facts) == ["kind", "name", "base_model", "corpus", "preset", "parameters", "pairs",
                           "seed", "spec", "chat_template", "special_tokens", "date"]
    assert facts["name"] == "tuned" and facts["parameters"] == model.num_params()
    assert facts["seed"] == 5 and facts["spec"]["seed"] == 5 and facts["chat_template"] == chat.TEMPLATE
    assert facts["special_tokens"] == chat.special_ids(tok)
