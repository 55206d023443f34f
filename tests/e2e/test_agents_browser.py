"""The Agents page in a real browser against a real server with the shipped models: ask a question
of your own, and see the steps (the call, the tool's result entering the context in its own
colour, the final answer) and the context bar. Screenshot under test-artifacts/."""
import pytest
from test_browser import no_exceptions, snap, visit, wait_idle

pytestmark = pytest.mark.browser


def test_agents_page_asks_and_shows_the_steps(page, server, shipped_models, artifacts):
    if not (shipped_models / "agent.safetensors").is_file():
        pytest.skip("no shipped models/agent.safetensors")
    visit(page, server + "/Agents?ask=own", "Agents: the model as the brain of a program", timeout=120_000)
    box = page.get_by_label("Your question")
    box.fill("What is 38 times 56?")
    box.press("Enter")
    wait_idle(page, timeout=120_000)
    no_exceptions(page)
    page.get_by_text("the model writes").first.wait_for()
    assert page.get_by_text("calculator(38*56)").count() >= 1
    assert page.get_by_text("2128").count() >= 1                    # the tool's result, and the answer
    tool_boxes = page.locator('span.tok[title*="written by the tool"]')
    assert tool_boxes.count() >= 3                                 # <|result|> 2128 <|end|>, in orange
    assert page.locator(".ctx-bar").count() == 1
    assert page.get_by_text("Final answer").count() >= 1
    snap(page, artifacts / "agents.png")
