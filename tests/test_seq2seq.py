"""The seq2seq toy tasks, tokenisation, the encoder-decoder, its training loop, and the hybrid."""

import datetime as dt
import re

import numpy as np
import pytest
import torch

from rnncourse import hybrid, seq2seq
from rnncourse.seq2seq import EOS, PAD, SOS


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small recurrent models are latency-bound: one torch thread, as in the lessons."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def dates():
    return seq2seq.date_task()


@pytest.fixture(scope="module")
def reversal():
    return seq2seq.reversal_task(3, 6)


# ------------------------------------------------------------------ data

def test_reversal_targets(reversal):
    pairs = reversal.sample(np.random.default_rng(0), 500)
    lengths = {len(s) for s, _ in pairs}
    assert lengths == {3, 4, 5, 6}
    for s, t in pairs:
        assert s.isdigit() and t == s[::-1] and reversal.reference(s) == t
        assert reversal.aligned(s) == [[len(s) - 1 - j] for j in range(len(s))]


def test_dates_are_valid_and_targets_are_iso(dates):
    pairs = dates.sample(np.random.default_rng(1), 2000)
    formats = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%d.%m.%Y")
    seen = set()
    for s, t in pairs:
        parsed = None
        for k, f in enumerate(formats):
            try:
                parsed = dt.datetime.strptime(s, f).date()
                seen.add(k)
                break
            except ValueError:
                continue
        assert parsed is not None, s
        assert t == parsed.isoformat() and dates.reference(s) == t
        assert dt.date(1950, 1, 1) <= parsed <= dt.date(2049, 12, 31)
        assert len(s) <= dates.max_src_len and len(t) == 10
    assert seen == {0, 1, 2, 3}  # every format occurs
    assert any(s[0].isdigit() and s[1] == " " for s, _ in pairs)  # days without a leading zero


def test_date_reference_and_fields(dates):
    assert dates.reference("24 Nov 2026") == "2026-11-24"
    assert dates.reference("Nov 24, 2026") == "2026-11-24"
    assert dates.reference("24 November 2026") == "2026-11-24"
    assert dates.reference("24.11.2026") == "2026-11-24"
    # a full month name before the day is no training format, but the date has one answer
    assert dates.reference("December 5, 1977") == "1977-12-05"
    assert dates.aligned("December 5, 1977")[0] == [12, 13, 14, 15]
    assert dates.reference("31 Feb 2020") is None and dates.reference("hello") is None
    fields = dates.aligned("Nov 24, 2026")
    assert fields[0] == [8, 9, 10, 11] and fields[5] == [0, 1, 2] and fields[8] == [4, 5]
    assert fields[4] == [] and fields[7] == []


def test_split_is_seeded_and_held_out(reversal):
    a = seq2seq.make_split(reversal, 300, 100, seed=3)
    b = seq2seq.make_split(reversal, 300, 100, seed=3)
    assert a.train == b.train and a.test == b.test
    assert len(a.train) == 300 and len(a.test) == 100
    assert not {s for s, _ in a.test} & {s for s, _ in a.train}
    assert len({s for s, _ in a.test}) == 100


def test_vocab_and_encoding(dates):
    v = dates.src_vocab
    ids = v.encode("24 Nov 2026", eos=True)
    assert ids[-1] == EOS and v.decode(ids) == "24 Nov 2026"
    assert v.decode([v.stoi["1"], EOS, v.stoi["2"]]) == "1"
    with pytest.raises(ValueError, match=r"unknown \['!'\]"):
        v.encode("24 Nov!")
    assert dates.check_input("") and dates.check_input("x" * 30) and dates.check_input("2#")
    assert dates.check_input("24 Nov 2026") is None
    enc = seq2seq.encode_pairs(dates, [("1.01.2000", "2000-01-01"), ("24 November 2026",
                                                                     "2026-11-24")])
    assert enc.src.shape == (16, 2) and enc.src_len.tolist() == [9, 16]
    assert (enc.src[9:, 0] == PAD).all()
    assert enc.tgt_in.shape == enc.tgt_out.shape == (11, 2)
    assert (enc.tgt_in[0] == SOS).all() and (enc.tgt_out[10] == EOS).all()
    assert torch.equal(enc.tgt_in[1:], enc.tgt_out[:-1])
    with pytest.raises(ValueError, match=r"sources\[1\]"):
        seq2seq.encode_pairs(dates, [("1.01.2000", "2000-01-01"), ("?", "x")])


# ------------------------------------------------------------------ model

@pytest.mark.parametrize("attention", [None, "additive", "general"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_forward_shapes_and_weights(reversal, attention, bidirectional):
    split = seq2seq.make_split(reversal, 50, 10, seed=0)
    model = seq2seq.Seq2Seq(len(reversal.src_vocab), len(reversal.tgt_vocab), hidden_size=16,
                            embed_size=8, attention=attention, bidirectional=bidirectional,
                            seed=0)
    batch = split.encoded_train()[torch.arange(5)]
    logits, weights = model(batch.src, batch.src_len, batch.tgt_in)
    T, S = batch.tgt_in.shape[0], batch.src.shape[0]
    assert logits.shape == (T, 5, len(reversal.tgt_vocab))
    if attention is None:
        assert weights is None
    else:
        assert weights.shape == (T, 5, S)
        assert torch.allclose(weights.sum(-1), torch.ones(T, 5), atol=1e-5)
        pad = (batch.src == PAD).T  # (B, S)
        assert (weights[:, pad] == 0).all()
    outputs, ws = model.translate(reversal, ["123", "456789"])
    assert len(outputs) == 2 and all(isinstance(o, str) for o in outputs)
    if attention is not None:
        assert ws[0].shape[1] == 3 and ws[1].shape[1] == 6
        assert np.allclose(ws[1].sum(1), 1, atol=1e-5)


def test_seeded_model_and_errors(reversal):
    a = seq2seq.Seq2Seq(13, 13, hidden_size=8, seed=1)
    b = seq2seq.Seq2Seq(13, 13, hidden_size=8, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="dot attention needs query_size == key_size"):
        seq2seq.Seq2Seq(13, 13, hidden_size=8, attention="dot", bidirectional=True)
    seq2seq.Seq2Seq(13, 13, hidden_size=8, attention="dot", bidirectional=False)
    with pytest.raises(ValueError, match="attention: expected one of"):
        seq2seq.Seq2Seq(13, 13, attention="luong")
    src = torch.zeros(4, 2, dtype=torch.long)
    with pytest.raises(TypeError, match="src: expected a torch.long tensor"):
        a(src.float(), torch.tensor([4, 4]), src)
    with pytest.raises(ValueError, match=r"src_len: expected lengths in \[1, 4\]"):
        a(src, torch.tensor([5, 4]), src)
    with pytest.raises(TypeError, match="sources: expected a list of strings, got a str"):
        a.translate(reversal, "123")
    with pytest.raises(ValueError, match="unknown character"):
        a.translate(reversal, ["12a"])


def test_training_decreases_the_loss_and_is_deterministic(reversal):
    split = seq2seq.make_split(reversal, 2000, 50, seed=0)
    runs = []
    for _ in range(2):
        model, result = seq2seq.fit(split, steps=40, seed=0, eval_every=20, hidden_size=24,
                                    embed_size=8)
        runs.append(result)
    r = runs[0]
    assert np.mean(r.losses[-5:]) < 0.7 * np.mean(r.losses[:5])
    assert np.array_equal(runs[0].losses, runs[1].losses)
    assert r.eval_steps == [20, 40] and 0 <= r.test_accuracy <= 1
    assert r.as_dict()["train_steps"] == 40
    with pytest.raises(ValueError, match="steps: expected an int >= 1"):
        seq2seq.train(model, split, steps=0)
    with pytest.raises(TypeError, match="split: expected a Split"):
        seq2seq.train(model, split.train, steps=1)


def test_alignment_mass():
    perfect = np.eye(4)[::-1]  # output j looks at 3 - j
    aligned = [[[3 - j] for j in range(4)]]
    assert seq2seq.alignment_mass([perfect], aligned) == 1.0
    shifted = np.zeros((4, 4))
    shifted[np.arange(4), [3, 3, 2, 1]] = 1.0  # one position later (where there is one)
    assert seq2seq.alignment_mass([shifted], aligned) == 0.25
    assert seq2seq.alignment_mass([shifted], aligned, tolerance=1) == 1.0
    uniform = np.full((5, 4), 0.25)  # 4 outputs + </s>: the last row is skipped
    assert np.isclose(seq2seq.alignment_mass([uniform], aligned), 0.25)
    with pytest.raises(ValueError, match="one entry per example"):
        seq2seq.alignment_mass([perfect, perfect], aligned)


# ------------------------------------------------------------------ hybrid

def test_conv_gru_shapes_and_steps():
    model = hybrid.ConvGRU(2, 16, 1, channels=8, kernel_size=5, stride=5)
    x = torch.randn(50, 3, 2)
    assert model(x).shape == (3, 1)
    assert model.recurrent_steps(50) == hybrid.recurrent_steps(model, 50) == 10
    assert hybrid.recurrent_steps(torch.nn.Linear(2, 2), 50) == 50
    with pytest.raises(ValueError, match="expected 3 dimensions"):
        model(torch.randn(50, 3))
    with pytest.raises(ValueError, match="at least kernel_size = 5"):
        model(torch.randn(3, 2, 2))


def test_hybrid_compare_smoke():
    runs = hybrid.compare(seq_len=20, steps=30, eval_every=15, gru_hidden=8, hybrid_hidden=8,
                          channels=4)
    assert set(runs) == {"gru", "hybrid"}
    for r in runs.values():
        assert r.steps == 30 and len(r.evals) == 2 and np.isfinite(r.final_eval)
        assert np.mean(r.losses[-10:]) < np.mean(r.losses[:5])


def test_train_is_the_course_loop_with_teacher_forcing_and_cosine_decay(reversal):
    """seq2seq.train runs rnncourse.train.train; the numbers are those of the loop written out:
    Adam, cosine decay over the second half, clipping, batches from the seeded generator."""
    import math

    split = seq2seq.make_split(reversal, 500, 20, seed=0)
    steps, lr, clip = 12, 1e-2, 1.0
    _, result = seq2seq.fit(split, steps=steps, lr=lr, seed=3, eval_every=5, hidden_size=12,
                            embed_size=6)
    model = seq2seq.Seq2Seq(len(reversal.src_vocab), len(reversal.tgt_vocab), hidden_size=12,
                            embed_size=6, seed=3)
    data, rng = split.encoded_train(), np.random.default_rng(3)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    losses, first_decay = [], steps // 2
    for step in range(1, steps + 1):
        if step > first_decay:
            fraction = (step - first_decay) / (steps - first_decay + 1)
            for group in optimiser.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * fraction))
        batch = data[torch.from_numpy(rng.integers(0, len(data), size=64))]
        logits, _ = model(batch.src, batch.src_len, batch.tgt_in)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 batch.tgt_out.reshape(-1), ignore_index=0)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        losses.append(loss.item())
    assert result.losses == losses
    assert result.eval_steps == [5, 10, 12] and result.steps == steps
    assert result.test_accuracy == seq2seq.exact_match(model, reversal, split.test)
    assert result.config["goal"] == "max" and result.config["lr_schedule"].startswith("cosine")
    record = result.as_dict()
    assert record["seconds"] == result.train_seconds and record["curve_steps"] == [5, 10, 12]


def test_training_shows_a_progress_bar_when_asked(reversal, capsys):
    split = seq2seq.make_split(reversal, 50, 10, seed=0)
    model = seq2seq.Seq2Seq(len(reversal.src_vocab), len(reversal.tgt_vocab), hidden_size=8)
    seq2seq.train(model, split, steps=3, eval_every=3, n_eval=5, progress="reversal")
    assert re.search(r"reversal: 100%\|.*\| 3/3 \[", capsys.readouterr().err)
    seq2seq.train(model, split, steps=2, eval_every=2, n_eval=5)
    assert "2/2" not in capsys.readouterr().err  # no bar unless asked
    with pytest.raises(TypeError, match="progress: expected a bool or a description"):
        seq2seq.train(model, split, steps=2, progress=1)
