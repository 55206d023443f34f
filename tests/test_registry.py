"""The models directory (explainer/serve/registry.py): listed in the journey's order, and names
checked before a trained model is saved."""
import doctest

import pytest

from explainer.serve import registry


def test_doctests():
    assert doctest.testmod(registry).failed == 0


def test_models_are_listed_in_the_journey_order(tmp_path):
    from explainer.gpt.model import GPT, preset
    from explainer.gpt.paramfile import save_model
    from explainer.phases.pretrain import learn_tokenizer
    from explainer.serve.registry import list_models

    tok = learn_tokenizer("hello world, hello there. " * 200)
    model = GPT(preset("tiny", vocab_size=tok.n_vocab))
    for name, kind in (("feedback", "feedback"), ("tuned", "tuned"), ("base", "base"), ("aaa", "base")):
        save_model(tmp_path / f"{name}.safetensors", model, tok, {"kind": kind})
    assert [m.name for m in list_models(tmp_path)] == ["base", "aaa", "tuned", "feedback"]


def test_save_trained_validates_names(tmp_path):
    import torch

    from explainer.gpt.model import GPT, preset
    from explainer.gpt.paramfile import LoadedModel
    from explainer.phases.pretrain import learn_tokenizer as learn_vocabulary
    from explainer.serve.registry import list_models, save_trained

    tok = learn_vocabulary("hello world, hello there. " * 200)
    cfg = preset("tiny", vocab_size=tok.n_vocab)
    torch.manual_seed(0)
    loaded = LoadedModel(GPT(cfg), tok, cfg, {"val_loss": 5.0, "tokens_trained": 1000}, None)
    (tmp_path / "base.safetensors").write_bytes(b"not a model")   # shipped (and broken)
    for bad in ("", "../x", "/etc/passwd", "a b", ".hidden", "x" * 60, "base"):
        with pytest.raises(ValueError):
            save_trained(loaded, bad, tmp_path)
    assert save_trained(loaded, "mine", tmp_path) == tmp_path / "mine.safetensors"
    with pytest.raises(ValueError, match="already exists"):
        save_trained(loaded, "mine", tmp_path)
    infos = {m.name: m for m in list_models(tmp_path)}
    assert infos["base"].error and not infos["mine"].shipped and infos["mine"].n_params > 0
