"""Lesson 6's runners: same budget for every cell, baselines, summary rows, the shipped text."""

import math

import numpy as np
import pytest
import torch

from rnncourse import experiments, models, tasks
from rnncourse.data import load_sonnets, load_sunspots
from rnncourse.train import TrainResult

torch.set_num_threads(1)


def small_adding(**kw):
    args = dict(T=8, hidden_size=8, steps=20, n_test=50, eval_every=10, target=None)
    args.update(kw)
    return experiments.adding_run(**args)


# --- adding problem ---------------------------------------------------------------------------

def test_core_for_picks_the_faster_core():
    assert experiments.core_for("gru") == "course"
    assert experiments.core_for("lstm") == "torch" and experiments.core_for("rnn") == "torch"
    assert experiments.core_for("gru", "torch") == "torch"
    with pytest.raises(ValueError, match="core: expected one of"):
        experiments.core_for("gru", "cuda")
    with pytest.raises(ValueError, match="cell: expected one of"):
        experiments.core_for("transformer")


def test_adding_run_is_seeded_and_records_its_setting():
    a, b = small_adding(cell="lstm", forget_bias=1.0), small_adding(cell="lstm", forget_bias=1.0)
    assert a.losses == b.losses and a.steps == 20 and [s for s, _ in a.evals] == [10, 20]
    assert a.config["task"] == "adding" and a.config["forget_bias"] == 1.0
    assert a.config["T"] == 8 and a.config["core"] == "torch"
    assert small_adding(cell="lstm", seed=1).losses != a.losses


def test_adding_run_stops_at_the_target():
    r = small_adding(cell="gru", target=10.0)  # any MSE is below 10: stop at the first evaluation
    assert r.steps_to_target == 10 and r.steps == 10


def test_adding_run_bad_arguments():
    with pytest.raises(ValueError, match="forget_bias: only an LSTM has a forget gate; expected "
                                         "None for cell='gru', got 1.0"):
        small_adding(cell="gru", forget_bias=1.0)
    with pytest.raises(TypeError, match="forget_bias: expected a number or None, got str"):
        small_adding(cell="lstm", forget_bias="1")
    with pytest.raises(ValueError, match="T: expected an int >= 2, got 1"):
        small_adding(T=1)
    with pytest.raises(TypeError, match="seed: expected an int >= 0, got float"):
        small_adding(seed=1.0)


def test_compare_adding_runs_every_model_and_seed():
    out = experiments.compare_adding({"RNN": {"cell": "rnn"}, "GRU": {"cell": "gru"}},
                                     seeds=(0, 1), T=8, hidden_size=4, steps=5, n_test=20,
                                     eval_every=5, target=None)
    assert list(out) == ["RNN", "GRU"] and all(len(v) == 2 for v in out.values())
    assert out["GRU"][0].config["core"] == "course" and out["RNN"][1].config["seed"] == 1


def test_compare_adding_bad_arguments():
    with pytest.raises(TypeError, match="models: expected a non-empty dict"):
        experiments.compare_adding({})
    with pytest.raises(TypeError, match="seeds: expected a non-empty list of ints"):
        experiments.compare_adding({"GRU": {"cell": "gru"}}, seeds=0)
    with pytest.raises(ValueError, match=r"models\['GRU'\]: expected arguments not shared in "
                                         r"kwargs \(nor 'seed'\), got \['T'\]"):
        experiments.compare_adding({"GRU": {"cell": "gru", "T": 5}}, T=8)
    with pytest.raises(TypeError, match=r"models\['GRU'\]: expected a dict"):
        experiments.compare_adding({"GRU": "gru"})


def fake(steps_to_target, evals=()):
    return TrainResult(losses=[1.0] * 3, grad_norms=[], evals=list(evals),
                       steps_to_target=steps_to_target, seconds=1.0, seconds_to_target=None,
                       train_seconds=0.5, n_params=10, config={})


def test_median_steps_counts_a_miss_as_infinite():
    assert experiments.median_steps([fake(100), fake(300), fake(200)]) == 200
    assert experiments.median_steps([fake(100), fake(None), fake(None)]) == math.inf
    assert experiments.steps_or_none([fake(5), fake(None)]) == [5, None]
    with pytest.raises(ValueError, match="results: expected at least one TrainResult"):
        experiments.median_steps([])


def test_first_below():
    r = fake(None, evals=[(50, 0.17), (100, 0.12), (150, 0.05), (200, 0.2)])
    assert experiments.first_below(r, 0.1) == 150 and experiments.first_below(r, 0.01) is None
    with pytest.raises(TypeError, match="result: expected a TrainResult, got list"):
        experiments.first_below([], 0.1)
    with pytest.raises(TypeError, match="threshold: expected a number, got str"):
        experiments.first_below(r, "0.1")


# --- forecasting ------------------------------------------------------------------------------

def test_persistence_error_by_hand():
    series = np.arange(40.0) ** 1.5
    data = tasks.make_windows(series, 5, train_fraction=0.75)
    z = (series - data.mean) / data.std
    steps = np.diff(z)[data.test_index[:, 0] - 1]  # y_t - y_{t-1} for every test target
    assert experiments.persistence_error(data) == pytest.approx(np.mean(steps ** 2), rel=1e-5)
    assert experiments.persistence_error(data, metric="mae") == pytest.approx(
        np.mean(np.abs(steps)), rel=1e-5)
    first = tasks.make_windows(series, 5, train_fraction=0.75, batch_first=True)
    assert experiments.persistence_error(first, part="train") == pytest.approx(
        experiments.persistence_error(data, part="train"))
    with pytest.raises(ValueError, match="metric: expected one of"):
        experiments.persistence_error(data, metric="mape")
    with pytest.raises(TypeError, match="data: expected a ForecastData, got ndarray"):
        experiments.persistence_error(series)


def test_forecast_run_and_predict():
    data = tasks.make_windows(load_sunspots().values, 11)
    r = experiments.forecast_run(data, "gru", hidden_size=4, steps=10, eval_every=5)
    assert r.steps == 10 and len(r.evals) == 2 and r.config["window"] == 11
    original = experiments.predict(r.model, data)
    normalised = experiments.predict(r.model, data, units="normalised")
    assert original.shape == tuple(data.y_test.shape)
    np.testing.assert_allclose(original, normalised * data.std + data.mean)
    mse = float(np.mean((normalised - data.y_test.numpy()) ** 2))
    assert mse == pytest.approx(r.final_eval, rel=1e-4)
    with pytest.raises(TypeError, match="data: expected a ForecastData"):
        experiments.forecast_run(data.x_train, "gru")
    with pytest.raises(ValueError, match="part: expected one of"):
        experiments.predict(r.model, data, part="valid")


# --- character-level language model -----------------------------------------------------------

def test_the_sonnets_ship_with_the_course():
    text = load_sonnets()
    assert len(text) == 95728 and len(set(text)) == 62 and text.startswith("THE SONNETS")
    assert "Shall I compare thee to a summer's day?" in text


def test_char_data_and_a_short_run():
    chars = experiments.char_data("to be or not to be, that is the question. " * 20,
                                  test_window=20)
    assert len(chars.vocab) == 15 and chars.test_x.shape[0] == 20
    assert chars.unigram_bits == pytest.approx(tasks.unigram_entropy_bits(chars.test_ids))
    r = experiments.char_lm_run(chars, "gru", hidden_size=8, embedding_dim=None, T=16, batch=4,
                                steps=6, eval_every=3)
    assert r.steps == 6 and len(r.evals) == 2 and r.config["vocab_size"] == 15
    out = experiments.samples(r.model, chars.vocab, "to ", temperatures=(0.5, 2.0), length=30)
    assert set(out) == {0.5, 2.0} and all(s.startswith("to ") and len(s) == 33
                                          for s in out.values())
    assert out == experiments.samples(r.model, chars.vocab, "to ", temperatures=(0.5, 2.0),
                                      length=30)
    with pytest.raises(ValueError, match="prompt: expected a non-empty str"):
        experiments.samples(r.model, chars.vocab, "")
    with pytest.raises(TypeError, match="model: expected a CharLM, got SequenceRegressor"):
        experiments.samples(models.SequenceRegressor("gru", 2, 4, 1), chars.vocab, "to")
    with pytest.raises(TypeError, match="data: expected a CharData"):
        experiments.char_lm_run("text")


def test_bits_per_char_and_word_fraction():
    assert experiments.bits_per_char(math.log(2)) == pytest.approx(1.0)
    with pytest.raises(TypeError, match="nats: expected a number, got str"):
        experiments.bits_per_char("1")
    assert experiments.word_fraction("Thy beauty, thy xqzv!", "thy BEAUTY and use") == 0.75
    assert experiments.word_fraction("'tis o'er", "'tis gone o'er") == 1.0
    with pytest.raises(ValueError, match="sample: expected at least one word"):
        experiments.word_fraction("123 !", "words")
    with pytest.raises(TypeError, match="reference: expected a str, got int"):
        experiments.word_fraction("word", 5)


# --- summary ----------------------------------------------------------------------------------

def test_summary_rows_and_table():
    rows = [experiments.summary_row("adding", "GRU", fake(450), metric="test MSE", value=0.006,
                                    baseline=1 / 6, target=0.01),
            experiments.summary_row("adding", "RNN", fake(None), metric="test MSE", value=0.17,
                                    baseline=1 / 6)]
    assert rows[0]["beats baseline"] is True and rows[1]["beats baseline"] is False
    assert rows[0]["steps to target"] == 450 and rows[0]["ms/step"] == pytest.approx(166.7)
    table = experiments.format_table(rows, ["model", "steps to target", "value",
                                            "beats baseline"]).splitlines()
    assert table[0] == "| model | steps to target | value | beats baseline |"
    assert table[2] == "| GRU | 450 | 0.006 | yes |" and table[3] == "| RNN | – | 0.17 | no |"
    assert len(experiments.format_table(rows).splitlines()[0].split("|")) == len(rows[0]) + 2


def test_summary_bad_arguments():
    with pytest.raises(TypeError, match=r"result: expected a TrainResult or its to_dict\(\), "
                                        r"got a dict without 'n_params'"):
        experiments.summary_row("a", "b", {}, metric="m", value=1.0)
    with pytest.raises(TypeError, match="result: expected a TrainResult or its to_dict"):
        experiments.summary_row("a", "b", 3, metric="m", value=1.0)
    with pytest.raises(TypeError, match="value: expected a number, got str"):
        experiments.summary_row("a", "b", fake(1), metric="m", value="1")
    with pytest.raises(TypeError, match="rows: expected a non-empty list of dicts"):
        experiments.format_table([])
    with pytest.raises(ValueError, match=r"columns: expected keys present in every row, got "
                                         r"\['z'\] missing"):
        experiments.format_table([{"a": 1}], ["a", "z"])
    with pytest.raises(TypeError, match=r"rows\[1\]: expected a dict, got int"):
        experiments.format_table([{"a": 1}, 2])
