"""explainer/app/ui.py: the sidebar's names for a session model, and one model per phase for
every page."""
import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 120


def test_sidebar_names_a_half_trained_session_model():
    from explainer.app.ui import session_label, session_state_text
    spec = {"steps": 2000}
    assert session_state_text({"kind": "base", "preset": "tiny", "steps": 327, "spec": spec}) == \
        "tiny, stopped at step 327 of 2,000"
    assert session_state_text({"kind": "base", "preset": "small", "steps": 2000, "spec": spec}) == \
        "small, 2,000 steps"
    assert session_label({"kind": "base"}) == "your model (this session)"
    assert session_label({"kind": "tuned"}) == "your tuned model (this session)"


def _phase_probe():
    import streamlit as st

    from explainer.app import ui
    for phase in ("base", "tuned"):
        m = ui.phase_model(phase)
        st.write(f"{phase}={m.name if m is not None else None}")


def test_every_page_gets_the_same_model_for_a_phase(models_dir):
    if not {"base", "tuned", "feedback"} <= {p.stem for p in models_dir.glob("*.safetensors")}:
        pytest.skip("needs the shipped base, tuned and feedback models")

    def probe(active=None, tuned=None):
        at = AppTest.from_function(_phase_probe, default_timeout=TIMEOUT)
        if active:
            at.session_state["active_model"] = str(models_dir / f"{active}.safetensors")
        if tuned is not None:
            at.session_state["tuned_model"] = tuned
        return [m.value for m in at.run().markdown]

    assert probe() == ["base=base", "tuned=tuned"]
    # a chat model picked in the sidebar is no base model: the base phase takes the shipped one
    assert probe(active="feedback") == ["base=base", "tuned=tuned"]
    from explainer.gpt.paramfile import load_model
    mine = load_model(models_dir / "tuned.safetensors")
    (models_dir / "tuned.safetensors").rename(models_dir / "my-tuned.safetensors")
    import streamlit as st
    st.cache_data.clear()                      # the list of files is cached for 30 s
    # the assistant tuned in this session comes first; else the active model, if it is a tuned one
    assert probe(tuned=mine)[1] == "tuned=tuned"
    assert probe(active="my-tuned") == ["base=base", "tuned=my-tuned"]
    assert probe(active="feedback") == ["base=base", "tuned=None"]
