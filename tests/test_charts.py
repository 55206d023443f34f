import doctest

import pytest

from explainer.views import charts
from explainer.views.charts import (
    PALETTE,
    candidates_chart,
    downsample,
    embedding_heatmap,
    feedback_charts,
    log_ticks,
    loss_chart,
    next_word_bars,
)


def titled(fig):
    lay = fig.layout
    return bool(lay.title.text) and bool(lay.xaxis.title.text) and bool(lay.yaxis.title.text)


def test_doctests():
    assert doctest.testmod(charts).failed == 0


def test_downsample_keeps_ends_and_bounds_points():
    xs = list(range(10_001))
    ys = [x * x for x in xs]
    dx, dy = downsample(xs, ys, max_points=300)
    assert len(dx) <= 300 and dx[0] == 0 and dx[-1] == 10_000
    assert dy == [x * x for x in dx] and dx == sorted(dx)
    assert downsample([1, 2, 3], [4, 5, 6], 300) == ([1, 2, 3], [4, 5, 6])
    assert downsample([], [], 10) == ([], [])
    with pytest.raises(ValueError):
        downsample([1, 2], [1])


def test_loss_chart_titled_two_traces_downsampled():
    steps = list(range(2000))
    fig = loss_chart(steps, [7.6 - s / 1000 for s in steps], [0, 500, 1000], [7.6, 6.0, 5.1])
    assert titled(fig) and len(fig.data) == 2
    assert len(fig.data[0].x) <= 300 and fig.data[0].x[-1] == 1999
    assert fig.data[0].line.color in PALETTE and fig.data[1].line.color in PALETTE
    assert titled(loss_chart([], [])) and len(loss_chart([], []).data) == 1
    assert fig.layout.xaxis.dtick is None and fig.layout.xaxis.rangemode == "nonnegative"
    first = loss_chart([0], [7.6]).layout.xaxis                 # no "-0.5 ... 0.5" steps at the start
    assert first.dtick == 1 and first.range == (-0.3, 4.3)


def test_feedback_charts_reward_kl_and_entropy_per_policy_step():
    reward_fig, kl_fig, ent_fig = feedback_charts([1, 2, 3], [0.40, 0.55, 0.70], [0.0, 0.012, 0.031],
                                                  [1.1, 0.9, 0.8])
    assert reward_fig.layout.title.text == "Reward: the reward model's chance of 👍"
    assert kl_fig.layout.title.text == "KL to the tuned model"
    assert reward_fig.layout.xaxis.title.text == kl_fig.layout.xaxis.title.text == "policy step"
    assert reward_fig.layout.yaxis.title.text == "chance of a thumbs up"
    assert kl_fig.layout.yaxis.title.text == "KL (nats per token)"
    (reward, reward_avg), (kl, kl_avg) = reward_fig.data, kl_fig.data
    assert list(reward.x) == list(kl.x) == [1, 2, 3] and reward.mode == kl.mode == "lines"
    assert list(reward.y) == [0.40, 0.55, 0.70] and list(kl.y) == [0.0, 0.012, 0.031]
    assert (reward.line.color, kl.line.color) == (PALETTE[0], PALETTE[1])
    assert list(reward_avg.y) == pytest.approx([0.40, 0.475, 0.55])       # the running average
    assert list(kl_avg.x) == [1, 2, 3] and reward_avg.name == "average of 10 steps"
    assert list(reward_fig.layout.colorway) == PALETTE
    assert reward_fig.layout.yaxis.rangemode == kl_fig.layout.yaxis.rangemode == "nonnegative"
    assert ent_fig.layout.title.text == "Unsureness: entropy of the next word"
    assert list(ent_fig.data[0].y) == [1.1, 0.9, 0.8] and ent_fig.data[0].line.color == PALETTE[2]
    assert ent_fig.layout.yaxis.rangemode == "nonnegative"
    assert reward_fig.layout.xaxis.dtick == kl_fig.layout.xaxis.dtick == 1      # no step 1.5


def test_feedback_charts_downsample_long_runs_and_draw_one_step_as_a_dot():
    steps = list(range(1, 1001))
    reward_fig, kl_fig, _ = feedback_charts(steps, [s / 1000 for s in steps], [s / 10 for s in steps],
                                            steps, max_points=100)
    for fig, scale in ((reward_fig, 1000), (kl_fig, 10)):
        xs, ys = list(fig.data[0].x), list(fig.data[0].y)
        assert len(xs) <= 100 and xs[0] == 1 and xs[-1] == 1000 and xs == sorted(xs)
        assert ys == [x / scale for x in xs]              # each point keeps its own step
    assert len(feedback_charts(steps, steps, steps, steps)[0].data[0].x) <= 300      # the default cap
    one, _, _ = feedback_charts([1], [0.5], [0.0], [1.0])
    assert len(one.data) == 1 and one.data[0].mode == "markers" and list(one.data[0].y) == [0.5]
    avg = list(reward_fig.data[1].y)                       # average of the last 10 of s / 1000
    assert avg[-1] == pytest.approx(sum(range(991, 1001)) / 10 / 1000)
    with pytest.raises(ValueError):
        feedback_charts([1, 2], [0.5], [0.0, 0.1], [1.0, 0.9])


def test_next_word_bars_order_and_highlight():
    fig = next_word_bars([(" night", 0.4), (" day", 0.2), (" week", 0.1)], highlight=["night"])
    assert titled(fig)
    bar = fig.data[0]
    assert list(bar.x) == [0.1, 0.2, 0.4]                 # drawn bottom-up, so best ends on top
    assert list(fig.layout.yaxis.ticktext) == ["␣night", "␣day", "␣week"]
    assert bar.marker.color[-1] == PALETTE[1] and bar.marker.color[0] == PALETTE[0]


def test_candidates_chart_log_scale():
    fig = candidates_chart([0, 100, 200], {"night": [1e-4, 0.05, 0.4], "giraffe": [1e-4, 1e-6, 0.0]})
    assert titled(fig) and fig.layout.yaxis.type == "log" and len(fig.data) == 2
    assert min(fig.data[1].y) > 0                         # zeros clipped for the log axis
    assert [t.name for t in fig.data] == ["night", "giraffe"]
    ticks = fig.layout.yaxis.tickvals                     # readable: few, distinct, 100% on top
    assert 3 <= len(ticks) <= 8 and len(set(fig.layout.yaxis.ticktext)) == len(ticks) and ticks[-1] == 1.0
    for lo in (1e-12, 1e-9, 1e-6, 1e-3, 0.05, 0.4):
        ticks = log_ticks(lo)
        assert len(ticks) <= 8 and ticks == sorted(ticks) and ticks[0] <= max(lo, 1e-12) * 100


def test_embedding_heatmap_centred():
    fig = embedding_heatmap([[0.5, -1.0, 0.2], [0.1, 0.0, 0.3]], ["What", " should"])
    assert titled(fig)
    hm = fig.data[0]
    assert hm.zmin == -1.0 and hm.zmax == 1.0 and list(hm.y) == ["1: What", "2: ␣should"]


def test_house_layout_for_other_modules():
    import plotly.graph_objects as go

    fig = charts.titled(go.Figure(go.Bar(x=[1], y=[2])), "A title", "x things", "y things", height=300)
    assert titled(fig) and fig.layout.height == 300 and list(fig.layout.colorway) == PALETTE


@pytest.mark.parametrize("top", [1e-5, 2.3e-4, 0.0012, 0.003, 0.05, 0.9])
def test_next_word_bars_ticks_are_distinct_and_exact_at_small_probabilities(top):
    probs = [top * 0.8 ** i for i in range(10)]
    fig = charts.next_word_bars([(f"w{i}", p) for i, p in enumerate(probs)])
    x = fig.layout.xaxis
    vals, labels = list(x.tickvals), list(x.ticktext)
    assert len(vals) >= 3 and len(set(labels)) == len(labels)
    assert all(float(t.rstrip("%")) / 100 == pytest.approx(v, abs=1e-12) for v, t in zip(vals, labels))
    assert vals[0] == 0 and max(vals) <= x.range[1] and max(probs) < x.range[1]
    assert not any(t in ("0.0%", "0%") for t in fig.data[0].text)       # every bar says how much


def test_percent_text_keeps_two_significant_digits():
    assert [charts.percent_text(p) for p in (0.5, 0.0123, 0.00123, 0.0000456)] == \
        ["50.0%", "1.2%", "0.12%", "0.0046%"]


def test_a_long_title_gets_two_lines_and_the_room_for_them():
    from explainer.views.charts import TITLE_LINE, TITLE_PAD, TOP_MARGIN, two_line_title
    long = two_line_title(next_word_bars([(" a", 0.5)], title="How likely is the name next, "
                                         "seeing only the last N tokens"), 34)
    assert long.layout.title.text.count("<br>") == 1
    assert long.layout.margin.t == TOP_MARGIN + TITLE_LINE and long.layout.title.pad.t == TITLE_PAD + TITLE_LINE
    short = two_line_title(next_word_bars([(" a", 0.5)], title="Top next words"), 34)
    assert short.layout.title.text == "Top next words" and short.layout.margin.t == TOP_MARGIN


def test_parameter_counts_read_in_millions():
    from explainer.views.charts import params_text
    assert params_text(1_071_872) == "1.07\u00a0M" and params_text(235_264) == "0.24\u00a0M"


def test_every_chart_has_its_numbers_as_a_table():
    """The text alternative under each chart (ui.plot): the same numbers, no colour needed."""
    fig = charts.loss_chart(list(range(1000)), [5 - i / 250 for i in range(1000)], [0, 500, 999], [5.1, 3.2, 1.1])
    rows, total = charts.figure_table(fig)
    assert total == 300 + 1 and len(rows) == 50              # 300 drawn training points, +1 validation step
    assert rows[0] == {"training step": "0", "training text": "5", "validation text (unseen)": "5.1"}
    assert rows[-1]["training step"] == "999" and rows[-1]["validation text (unseen)"] == "1.1"
    bars = charts.next_word_bars([(" night", 0.5), (" day", 0.125)], highlight=["day"])
    assert charts.figure_table(bars) == ([{"next token": "␣night", "probability": "50.0%"},   # the bars' labels
                                          {"next token": "␣day", "probability": "12.5%"}], 2)


def test_a_heatmap_table_has_a_row_per_token_and_a_column_per_dimension():
    rows, total = charts.figure_table(charts.embedding_heatmap([[0.5, -1.25], [2.0, 0.0]], ["a", " b"]))
    assert total == 2 and rows == [{"token (position: piece)": "1: a", "0": "0.5", "1": "-1.25"},
                                   {"token (position: piece)": "2: ␣b", "0": "2", "1": "0"}]
