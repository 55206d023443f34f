"""Pretraining's vocabulary (explainer/phases/pretrain.py) fits small and repetitive texts."""


def test_learn_vocabulary_fits_small_texts():
    from explainer.phases.pretrain import learn_tokenizer as learn_vocabulary
    text = "The cat sat on the mat. The dog ate a bone. " * 60   # ~2.6 KB, very repetitive
    tok = learn_vocabulary(text)
    assert 260 < tok.n_vocab <= 2048 and tok.decode(tok.encode(text)) == text


def test_learn_vocabulary_copes_with_a_very_repetitive_text():
    from explainer.phases.pretrain import learn_tokenizer as learn_vocabulary
    tok = learn_vocabulary("word " * 500)
    assert 260 < tok.n_vocab < 270 and tok.decode(tok.encode("word word")) == "word word"
