"""Lesson 6's depth study: every model's step cost measured together, and the budget it sets."""

from __future__ import annotations

import itertools

import pytest

from rnncourse import deep, experiments
from rnncourse.data import load_sonnets

SMALL = dict(deep.DEPTH, hidden_size=8, embedding_dim=4, T=8, batch=4, cpu_budget=0.05,
             eval_every=5)


@pytest.fixture(scope="module")
def sonnets():
    return experiments.char_data(load_sonnets(), val_fraction=0.05)


def test_step_costs_has_one_positive_cost_per_depth_run_and_says_how_noisy(sonnets):
    costs = deep.step_costs(sonnets, SMALL, rounds=3)
    labels = [c["label"] for c in deep.depth_calls(sonnets, SMALL)]
    assert list(costs) == labels and all(v > 0 for v in costs.values())
    assert costs.rounds == 3 and costs.spread >= 1.0
    assert "least of 3 interleaved rounds" in costs.summary()


def test_a_burst_of_load_while_one_model_is_measured_changes_no_cost(sonnets, monkeypatch):
    # A step costs 1 ms per layer, except during a burst of six steps in a row, as long as the
    # old way measured one model (six steps, one after another) took: ten times as much.
    calls = itertools.count()

    def step(model, opt, data, batch, T, rng):
        k = next(calls)
        layers = sum("weight_hh" in name for name, _ in model.named_parameters())
        return layers * 1e-3 * (10 if 8 <= k < 14 else 1)

    monkeypatch.setattr(deep, "_training_step", step)
    costs = deep.step_costs(sonnets, SMALL, rounds=6)
    assert costs == {label: int(label.split(", ")[1][0]) * 1e-3 for label in costs}
    assert costs.spread == 1.0  # medians: the burst touched one round of each model

    # measured one model after another, as each run did for itself, the burst lands on one
    calls = itertools.count()
    one_by_one = {c["label"]: deep.step_cpu_seconds(
        sonnets, c["cell"], c["num_layers"], hidden_size=c["hidden_size"],
        embedding_dim=c["embedding_dim"], T=c["T"], batch=c["batch"], lr=c["lr"])
        for c in deep.depth_calls(sonnets, SMALL)}
    assert one_by_one["LSTM, 2 layers"] == pytest.approx(10 * costs["LSTM, 2 layers"])


def test_depth_calls_carry_the_measured_costs_and_char_run_uses_them(sonnets):
    costs = {c["label"]: 0.01 for c in deep.depth_calls(sonnets, SMALL)}
    calls = deep.depth_calls(sonnets, SMALL, costs=costs)
    assert all(c["step_cpu_s"] == 0.01 for c in calls)
    run = deep.char_run(**calls[0])
    assert run["step_cpu_ms"] == pytest.approx(10.0) and run["steps"] == 5  # 0.05 s / 0.01 s


def test_bad_costs_and_a_cost_without_a_budget_are_refused(sonnets):
    with pytest.raises(ValueError, match="missing"):
        deep.depth_calls(sonnets, SMALL, costs={"LSTM, 1 layer": 0.01})
    call = dict(deep.depth_calls(sonnets, SMALL)[0], step_cpu_s=0.01)
    call.pop("cpu_budget")
    with pytest.raises(ValueError, match="without a cpu_budget"):
        deep.char_run(**call, steps=5)
    with pytest.raises(ValueError, match="step_cpu_s"):
        deep.char_run(**dict(deep.depth_calls(sonnets, SMALL)[0], step_cpu_s=-1.0))
    with pytest.raises(ValueError, match="rounds"):
        deep.step_costs(sonnets, SMALL, rounds=0)
