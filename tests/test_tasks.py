"""Tasks and data loaders: shapes, the baselines the lessons quote, no leakage in time."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from rnncourse import data, tasks

torch.set_num_threads(1)


# --- adding problem ---------------------------------------------------------------------------

def test_adding_shapes_and_layout():
    x, y = tasks.adding_batch(5, 12, 0)
    assert x.shape == (12, 5, 2) and y.shape == (5, 1)
    assert x.dtype == y.dtype == torch.float32
    xb, yb = tasks.adding_batch(5, 12, 0, batch_first=True)
    assert xb.shape == (5, 12, 2)
    assert torch.equal(xb.transpose(0, 1), x) and torch.equal(yb, y)


def test_adding_exactly_two_markers_one_per_half_and_target_is_their_sum():
    T = 9
    x, y = tasks.adding_batch(2000, T, np.random.default_rng(1))
    markers = x[..., 1]
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(markers.sum(0) == 2)
    assert torch.all(markers[: T // 2].sum(0) == 1) and torch.all(markers[T // 2 :].sum(0) == 1)
    values = x[..., 0]
    assert values.min() >= 0 and values.max() < 1
    torch.testing.assert_close((values * markers).sum(0, keepdim=True).T, y)


def test_adding_baseline_is_one_sixth():
    assert tasks.ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    _, y = tasks.adding_batch(200_000, 10, 0)
    mse_of_predicting_one = float(((y - 1.0) ** 2).mean())
    assert abs(mse_of_predicting_one - tasks.ADDING_BASELINE_MSE) < 0.01


def test_adding_is_seeded_and_test_set_fixed():
    a = tasks.adding_batch(4, 6, np.random.default_rng(3))
    b = tasks.adding_batch(4, 6, np.random.default_rng(3))
    c = tasks.adding_batch(4, 6, np.random.default_rng(4))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    s1, s2 = tasks.adding_test_set(20, n=50), tasks.adding_test_set(20, n=50)
    assert torch.equal(s1[0], s2[0]) and s1[0].shape == (20, 50, 2)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(batch=0, T=5, rng=0), ValueError, "batch"),
    (dict(batch=2, T=1, rng=0), ValueError, "T: expected an int >= 2"),
    (dict(batch=2.0, T=5, rng=0), TypeError, "batch"),
    (dict(batch=2, T=5, rng="seed"), TypeError, "numpy.random.Generator"),
    (dict(batch=2, T=5, rng=-1), ValueError, "seed >= 0"),
])
def test_adding_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        tasks.adding_batch(**kwargs)


# --- copy task --------------------------------------------------------------------------------

def test_copy_baseline_values():
    assert round(tasks.copy_baseline(100), 3) == 0.173
    assert round(tasks.copy_baseline(200), 3) == 0.095
    assert round(tasks.copy_baseline(500), 3) == 0.040
    assert tasks.copy_baseline(100) == pytest.approx(10 * math.log(8) / 120)


def test_copy_structure():
    T = 15
    x, y = tasks.copy_batch(7, T, 0, one_hot=False)
    assert x.shape == y.shape == (T + 20, 7) and x.dtype == y.dtype == torch.int64
    assert torch.all((x[:10] >= 1) & (x[:10] <= 8))
    assert torch.all(x[10 : 10 + T - 1] == tasks.COPY_BLANK)
    assert torch.all(x[10 + T - 1] == tasks.COPY_DELIMITER)
    assert torch.all(x[10 + T :] == tasks.COPY_BLANK)
    assert torch.all(y[: T + 10] == tasks.COPY_BLANK)
    assert torch.equal(y[-10:], x[:10])
    xo, yo = tasks.copy_batch(7, T, 0)
    assert xo.shape == (T + 20, 7, 10) and xo.dtype == torch.float32
    assert torch.equal(xo.argmax(-1), x) and torch.equal(yo, y)
    xb, _ = tasks.copy_batch(7, T, 0, batch_first=True)
    assert xb.shape == (7, T + 20, 10)


def test_memoryless_strategy_scores_the_baseline():
    T = 30
    x, y = tasks.copy_test_set(T, n=64, seed=0)
    logits = torch.full((T + 20, 64, 10), -1e4)
    logits[: T + 10, :, tasks.COPY_BLANK] = 0.0  # certain blank
    logits[T + 10 :, :, 1:9] = 0.0  # uniform over the 8 symbols
    assert float(tasks.copy_loss(logits, y)) == pytest.approx(tasks.copy_baseline(T), rel=1e-5)
    perfect = F.one_hot(y, 10).float() * 50
    assert tasks.copy_accuracy(perfect, y) == 1.0


def test_sequence_cross_entropy_checks_shapes():
    with pytest.raises(ValueError, match="targets.shape"):
        tasks.sequence_cross_entropy(torch.zeros(3, 2, 5), torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="int64"):
        tasks.sequence_cross_entropy(torch.zeros(3, 2, 5), torch.zeros(3, 2))


# --- forecasting ------------------------------------------------------------------------------

def test_windows_split_in_time_and_normalise_on_train_only():
    s = np.arange(100, dtype=float) ** 1.5
    d = tasks.make_windows(s, 8, horizon=2, split=70)
    assert d.mean == pytest.approx(s[:70].mean()) and d.std == pytest.approx(s[:70].std())
    assert d.x_train.shape[0] == 8 and d.x_train.shape[2] == 1
    assert d.y_train.shape == (d.x_train.shape[1], 2)
    assert d.train_index.max() < 70 <= d.test_index.min()
    assert d.test_index.max() == 99
    # windows hold the right (normalised) values
    np.testing.assert_allclose(d.denormalise(d.x_train[:, 5, 0].double().numpy()), s[5:13],
                               rtol=1e-5)
    np.testing.assert_allclose(d.denormalise(d.y_test.double().numpy()), s[d.test_index],
                               rtol=1e-5)
    x, y = d.batch(16, 0)
    assert x.shape == (8, 16, 1) and y.shape == (16, 2)
    db = tasks.make_windows(s, 8, split=70, batch_first=True)
    assert db.x_train.shape[0] == db.y_train.shape[0] and db.batch(3, 0)[0].shape == (3, 8, 1)


def test_seasonal_naive_is_exact_on_a_periodic_series():
    s = np.sin(2 * np.pi * np.arange(300) / 12) + 5
    d = tasks.make_windows(s, 24)
    assert tasks.seasonal_naive_error(d, 12) == pytest.approx(0.0, abs=1e-12)
    assert tasks.seasonal_naive_error(d, 6) > 0.1


def test_seasonal_naive_on_co2_beats_nothing_fancy():
    co2 = data.load_co2()
    d = tasks.make_windows(co2.values, 52)
    mse = tasks.seasonal_naive_error(d, 52)
    rmse_ppm = tasks.seasonal_naive_error(d, 52, metric="rmse", units="original")
    # the trend adds ~1.5 ppm a year, so a year-old value is off by about that much
    assert 0.5 < rmse_ppm < 3.0
    assert mse == pytest.approx((rmse_ppm / d.std) ** 2)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(series=[1.0, 2.0], window=3), ValueError, "split"),
    (dict(series=np.arange(50), window=3), TypeError, "floating"),
    (dict(series=np.ones((5, 2)), window=3), ValueError, "dimensions"),
    (dict(series=np.ones(50), window=3), ValueError, "constant"),
    (dict(series=np.arange(50.0), window=3, train_fraction=1.5), ValueError, "train_fraction"),
])
def test_windows_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        tasks.make_windows(**kwargs)


def test_seasonal_naive_needs_season_at_least_horizon():
    d = tasks.make_windows(np.arange(60.0) ** 2, 5, horizon=4)
    with pytest.raises(ValueError, match="horizon"):
        tasks.seasonal_naive(d, 3)


# --- characters -------------------------------------------------------------------------------

def test_vocab_roundtrip_and_unknown_character():
    text = "hello, world\n"
    v = tasks.Vocab(text)
    assert len(v) == len(set(text)) and v.itos == sorted(set(text))
    ids = v.encode(text)
    assert ids.dtype == np.int64 and v.decode(ids) == text
    assert v.decode(torch.from_numpy(ids)) == text
    with pytest.raises(ValueError, match="'z'"):
        v.encode("zebra")
    with pytest.raises(ValueError, match="ids"):
        v.decode([99])


def test_char_batches_are_next_character_windows():
    text = "abcdefghijklmnopqrstuvwxyz" * 4
    v = tasks.Vocab(text)
    ids = v.encode(text)
    x, y = tasks.char_batch(ids, 6, 10, 0)
    assert x.shape == y.shape == (10, 6) and x.dtype == torch.int64
    assert torch.equal(x[1:], y[:-1])
    assert torch.all((x + 1) % 26 == y)  # the next letter of the alphabet
    train, test = tasks.char_split(ids, 0.75)
    assert len(train) == 78 and np.array_equal(np.concatenate([train, test]), ids)
    tx, ty = tasks.char_test_set(test, 5)
    assert tx.shape == (5, 5) and torch.equal(tx.T.reshape(-1)[1:], ty.T.reshape(-1)[:-1])
    with pytest.raises(ValueError, match="T"):
        tasks.char_batch(ids, 2, 200, 0)
    with pytest.raises(TypeError, match="Vocab.encode"):
        tasks.char_batch("abc", 2, 2, 0)


def test_unigram_entropy():
    assert tasks.unigram_entropy_bits("aabb") == pytest.approx(1.0)
    assert tasks.unigram_entropy_bits("abcd") == pytest.approx(2.0)
    assert tasks.unigram_entropy_bits("aaaa") == pytest.approx(0.0)
    v = tasks.Vocab("abracadabra")
    assert tasks.unigram_entropy_bits(v.encode("abracadabra")) == pytest.approx(
        tasks.unigram_entropy_bits("abracadabra"))
    assert tasks.nats_to_bits(math.log(2)) == pytest.approx(1.0)


# --- shipped data -----------------------------------------------------------------------------

def test_co2_loader():
    co2 = data.load_co2()
    assert len(co2) == 2284 and co2.missing.sum() == 59
    assert np.all(np.isfinite(co2.values))
    assert np.all(np.diff(co2.dates) == np.timedelta64(7, "D"))
    assert str(co2.dates[0]) == "1958-03-29" and str(co2.dates[-1]) == "2001-12-29"
    raw = data.load_co2(interpolate=False)
    assert np.isnan(raw.values).sum() == 59
    np.testing.assert_array_equal(raw.values[~raw.missing], co2.values[~co2.missing])
    # interpolated weeks lie between their recorded neighbours' range
    assert 310 < co2.values.min() and co2.values.max() < 380
    dates, values = co2
    assert values is co2.values


def test_sunspots_loader():
    s = data.load_sunspots()
    assert len(s) == 309 and s.dates[0] == 1700 and s.dates[-1] == 2008
    assert not s.missing.any() and s.values.min() >= 0 and s.period == 11
