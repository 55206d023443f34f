"""The Two files page's "Out into the ecosystem" in a real browser: both downloads served, the zip
loads in transformers with the model's logits, the GGUF runs in the numpy run file with torch's
greedy tokens (a tiny model, so the test does not depend on models/)."""
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from harness import ROOT
from test_browser import no_exceptions, snap, visit

from explainer.gpt.paramfile import load_model

# ~20 s alone, 55 s in make test; with test_context_twofiles_browser, the
# tiny model's server starts only in make test-slow
pytestmark = [pytest.mark.browser, pytest.mark.slow]
sys.path.insert(0, str(ROOT / "explainer" / "runfile"))
import run  # noqa: E402


def download(page, name: str, folder: Path) -> Path:
    with page.expect_download(timeout=120_000) as dl:
        page.get_by_role("button", name=name).click()
    path = folder / dl.value.suggested_filename
    dl.value.save_as(path)
    return path


def test_both_files_download_and_run_elsewhere(page, tiny_server, tiny_dir, artifacts, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    visit(page, tiny_server + "/Two_files", "A model is just two files", timeout=120_000)
    page.get_by_text("6 · Out into the ecosystem").wait_for(timeout=120_000)
    page.get_by_text("Inside the GGUF").scroll_into_view_if_needed()
    snap(page, artifacts / "two-files-export.png")
    ours = load_model(tiny_dir / "tiny.safetensors")
    ids = [ours.tokenizer.eot_id] + ours.tokenizer.encode("A flash flood watch will be in effect all")

    with zipfile.ZipFile(download(page, "Hugging Face folder (.zip)", tmp_path)) as z:
        z.extractall(tmp_path)
    folder = tmp_path / "tiny"
    assert AutoTokenizer.from_pretrained(folder).encode("A flash flood watch 🌊") == \
        ours.tokenizer.encode("A flash flood watch 🌊")
    with torch.no_grad():
        theirs = AutoModelForCausalLM.from_pretrained(folder)(torch.tensor([ids])).logits
        torch.testing.assert_close(theirs, ours.model(torch.tensor([ids])).logits, atol=1e-4, rtol=1e-4)

    gguf = download(page, "GGUF", tmp_path)
    assert gguf.name == "tiny.gguf" and gguf.read_bytes()[:4] == b"GGUF"
    W, cfg, _, _ = run.load(str(gguf))
    assert list(run.generate(W, cfg, ids, 12)) == list(ours.model.generate(ids, 12, temperature=0))
    no_exceptions(page)
