"""Lesson 7's attention explorer, driven as a learner would: pick, type, read the widgets."""

import numpy as np
import pytest
import torch

from rnncourse import seq2seq
from rnncourse.explorers import attention as attention_explorer
from rnncourse.explorers.attention import AttentionExplorer, alignment_figure


@pytest.fixture(scope="module")
def setup():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    task = seq2seq.reversal_task(3, 8)
    split = seq2seq.make_split(task, 200, 30, seed=0)
    model = seq2seq.Seq2Seq(len(task.src_vocab), len(task.tgt_vocab), hidden_size=16,
                            embed_size=8, seed=0)  # untrained: the callbacks are what is tested
    yield model, task, split
    torch.set_num_threads(previous)


@pytest.fixture
def explorer(setup):
    model, task, split = setup
    return AttentionExplorer(model, task, split.test)


def heat(ex):
    return np.asarray(ex.figure.data[0].z, dtype=float)


def test_css_classes_for_browser_tests(explorer):
    assert "rnncourse-attention-example" in explorer.example._dom_classes
    assert "rnncourse-attention-input" in explorer.text._dom_classes
    assert "rnncourse-attention-output" in explorer.output._dom_classes
    assert "rnncourse-attention-heatmap" in explorer.figure._dom_classes
    assert "rnncourse-attention-explorer" in explorer.widget._dom_classes


def test_starts_on_the_first_example(explorer, setup):
    _, task, split = setup
    first = split.test[0][0]
    assert explorer.text.value == first == explorer.source
    z = heat(explorer)
    assert z.shape == explorer.weights.shape and z.shape[1] == len(first)
    assert np.allclose(z.sum(axis=1), 1, atol=1e-5)
    assert "<b>output</b>" in explorer.output.value and explorer.message.value == ""


def test_dropdown_changes_text_heatmap_and_label(explorer, setup):
    _, _, split = setup
    before_z, before_label = heat(explorer), explorer.output.value
    target = next(s for s, _ in split.test if len(s) != len(split.test[0][0]))
    explorer.example.value = target
    assert explorer.text.value == target and explorer.source == target
    z = heat(explorer)
    assert z.shape[1] == len(target) and z.shape != before_z.shape
    assert explorer.output.value != before_label
    assert f"<code>{explorer.prediction}</code>" in explorer.output.value


def test_typing_updates_and_labels_positions_uniquely(explorer):
    explorer.text.value = "55555"
    assert explorer.example.value is None  # a typed source is not a held-out example
    z = heat(explorer)
    assert z.shape[1] == 5
    layout = explorer.figure.layout
    assert list(layout.xaxis.tickvals) == [0, 1, 2, 3, 4]
    assert list(layout.xaxis.ticktext) == ["5"] * 5  # same character, five columns
    assert len(layout.yaxis.tickvals) == z.shape[0]
    assert layout.yaxis.ticktext[-1] == attention_explorer.END  # the end-token row, labelled
    assert "expected <code>55555</code>" in explorer.output.value or "✓" in explorer.output.value
    explorer.text.value = "1234"
    assert heat(explorer).shape[1] == 4


@pytest.mark.parametrize("bad, words", [("12a4", "unknown character"), ("", "empty"),
                                        ("123456789", "too long")])
def test_bad_input_shows_a_message_not_a_traceback(explorer, bad, words):
    explorer.text.value = bad
    assert words in explorer.message.value
    assert words in explorer.problem and "<" not in explorer.problem  # plain text to print
    assert explorer.prediction is None and explorer.weights is None
    assert heat(explorer).size == 0
    explorer.text.value = "321"  # and it recovers
    assert explorer.message.value == "" and explorer.prediction is not None
    assert explorer.problem is None


def test_reselecting_an_example_after_typing(explorer, setup):
    _, _, split = setup
    first = split.test[0][0]
    explorer.text.value = "999"
    explorer.example.value = first
    assert explorer.text.value == first and heat(explorer).shape[1] == len(first)


def test_benchmark_moves_each_change_something(explorer):
    moves = explorer.benchmark_moves()
    assert len(moves) >= 6
    for control, value in moves * 2:
        assert control.value != value
        control.value = value
        assert control.value == value


def test_refuses_a_model_without_attention(setup):
    _, task, split = setup
    plain = seq2seq.Seq2Seq(len(task.src_vocab), len(task.tgt_vocab), hidden_size=8,
                            attention=None)
    with pytest.raises(ValueError, match="attention=None"):
        AttentionExplorer(plain, task, split.test)
    with pytest.raises(ValueError, match="not a valid source"):
        AttentionExplorer(setup[0], task, ["12x"])


def test_demo_builds_quickly_and_is_ready():
    ex = AttentionExplorer.demo(steps=20)
    assert ex.prediction is not None and heat(ex).size > 0
    assert len(ex.example.options) == 20


def test_static_alignment_figure_keeps_repeated_characters_apart():
    w = np.eye(3)[::-1]
    fig = alignment_figure("aab", "baa", np.vstack([w, np.full((1, 3), 1 / 3)]))
    assert np.asarray(fig.data[0].z).shape == (4, 3)
    assert list(fig.layout.xaxis.ticktext) == ["a", "a", "b"]
    assert list(fig.layout.yaxis.ticktext) == ["b", "a", "a", attention_explorer.END]
    with pytest.raises(ValueError, match="expected shape"):
        alignment_figure("ab", "ba", w)
