"""Every choice an experiment makes reads validation data only, and the test number is read once.

Each test runs an experiment twice: once as the lessons do, once with its test data poisoned
(NaN, or targets that make every test prediction wrong). A choice that read the test data would
change (NaN poisons every comparison it enters); the choices here must be identical, and only
the test number differs.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from rnncourse import deep, experiments, literature, models, seq2seq, tasks, train
from rnncourse.data import load_sonnets, load_sunspots

torch.set_num_threads(1)


def _nan_like(t):
    return torch.full_like(t, float("nan"))


@pytest.fixture(scope="module")
def sunspots():
    return tasks.make_windows(load_sunspots().values, 22, val_fraction=0.15)


def poisoned(data):
    return dataclasses.replace(data, x_test=_nan_like(data.x_test), y_test=_nan_like(data.y_test))


def test_the_loop_chooses_on_eval_fn_and_calls_test_fn_once_after_restoring():
    vx, vy = tasks.adding_test_set(8, n=64, seed=1)
    calls = []

    def test_fn(model):
        calls.append(len(calls))
        return float("nan")

    def run(test):
        return train.train(lambda: models.SequenceRegressor("gru", 2, 8, 1), lambda rng:
                           tasks.adding_batch(16, 8, rng), F.mse_loss, steps=40, lr=3e-2,
                           seed=0, progress=False, eval_fn=train.eval_on(vx, vy, F.mse_loss),
                           eval_every=5, restore_best=True, patience=3, test_fn=test)

    plain = run(train.eval_on(vx, vy, F.mse_loss))
    bad = run(test_fn)
    assert calls == [0]  # once, at the end
    assert bad.evals == plain.evals and bad.best_step == plain.best_step
    assert bad.steps == plain.steps and math.isnan(bad.test_metric)
    # the kept weights are the best evaluation's: re-evaluating them gives its metric
    assert plain.test_metric == pytest.approx(plain.best_eval, rel=1e-6)


def test_sunspot_early_stopping_reads_only_the_validation_years(sunspots):
    kwargs = dict(cell="lstm", hidden_size=8, steps=120, lr=1e-2, eval_every=10, patience=2)
    plain = experiments.forecast_run(sunspots, **kwargs)
    bad = experiments.forecast_run(poisoned(sunspots), **kwargs)
    assert bad.evals == plain.evals and bad.best_step == plain.best_step
    assert bad.steps == plain.steps
    assert math.isfinite(plain.test_metric) and math.isnan(bad.test_metric)
    assert plain.best_step < plain.steps  # the validation curve did stop the run


def test_the_validation_period_lies_between_training_and_test(sunspots):
    assert sunspots.train_index.max() < sunspots.val_split == sunspots.val_index.min()
    assert sunspots.val_index.max() < sunspots.split == sunspots.test_index.min()
    train_values = sunspots.series[:sunspots.val_split]
    assert sunspots.mean == pytest.approx(train_values.mean())  # no statistics from later
    with pytest.raises(ValueError, match="no validation period"):
        tasks.make_windows(load_sunspots().values, 22).part("val")


def test_adding_runs_stop_on_the_validation_seed(monkeypatch):
    kwargs = dict(cell="gru", T=8, hidden_size=16, steps=150, lr=1e-2, n_test=200,
                  eval_every=10, target=0.05)
    plain = experiments.adding_run(**kwargs)
    real = experiments._adding_test

    def poisoned_test(T, n, seed=experiments.ADDING_TEST_SEED):
        x, y = real(T, n, seed)
        return (_nan_like(x), _nan_like(y)) if seed == experiments.ADDING_TEST_SEED else (x, y)

    monkeypatch.setattr(experiments, "_adding_test", poisoned_test)
    bad = experiments.adding_run(**kwargs)
    assert plain.steps_to_target is not None and bad.steps_to_target == plain.steps_to_target
    assert bad.evals == plain.evals and math.isnan(bad.test_metric)
    assert math.isfinite(plain.test_metric)


@pytest.fixture(scope="module")
def sonnets():
    return experiments.char_data(load_sonnets(), val_fraction=0.05)


def test_the_char_model_keeps_its_best_validation_point_whatever_the_test_text(sonnets):
    wrong = dataclasses.replace(sonnets, test_y=torch.zeros_like(sonnets.test_y))
    kwargs = dict(cell="lstm", num_layers=2, hidden_size=16, embedding_dim=8, T=16, batch=8,
                  lr=1e-2, eval_every=5, steps=20, dropout=0.2, dropout_mode="variational",
                  train_chars=2000, train_curve=True)
    plain = deep.char_run(sonnets, **kwargs)
    bad = deep.char_run(wrong, **kwargs)
    for key in ("val_curve", "train_curve", "best_step", "val_bpc", "gap"):
        assert bad[key] == plain[key], key
    assert bad["test_bpc"] != plain["test_bpc"]


def test_the_held_out_text_splits_into_validation_then_test(sonnets):
    whole = experiments.char_data(load_sonnets())
    assert np.array_equal(sonnets.train_ids, whole.train_ids)  # the same training text
    assert np.array_equal(np.concatenate([sonnets.val_ids, sonnets.test_ids]), whole.test_ids)


def test_the_learning_rate_sweep_chooses_on_validation(sunspots):
    kwargs = dict(hidden_sizes=(4,), steps=20, seed=0)
    plain = literature.learning_rate_sweep((1e-3, 3e-2), data=sunspots, **kwargs)
    bad = literature.learning_rate_sweep((1e-3, 3e-2), data=poisoned(sunspots), **kwargs)
    assert bad.chosen == plain.chosen and np.array_equal(bad.mse, plain.mse)
    assert math.isfinite(plain.test_mse) and math.isnan(bad.test_mse)
    assert literature.choose_on_validation([0.3, float("nan"), 0.1]) == 2
    with pytest.raises(TypeError, match="validation period"):
        literature.learning_rate_sweep(data=tasks.make_windows(load_sunspots().values, 22))


def test_seq2seq_curves_read_the_validation_set_and_the_test_set_once():
    task = seq2seq.reversal_task(3, 5)
    split = seq2seq.make_split(task, 200, 40, seed=0, n_val=30)
    assert not {s for s, _ in split.val} & ({s for s, _ in split.train}
                                             | {s for s, _ in split.test})
    same = seq2seq.make_split(task, 200, 40, seed=0)
    assert same.train == split.train and same.test == split.test  # drawn last
    wrong = dataclasses.replace(split, test=[(s, "x") for s, _ in split.test])
    _, plain = seq2seq.fit(split, steps=6, eval_every=3)
    _, bad = seq2seq.fit(wrong, steps=6, eval_every=3)
    assert bad.accuracy == plain.accuracy and bad.eval_steps == plain.eval_steps
    assert bad.test_accuracy == 0.0
