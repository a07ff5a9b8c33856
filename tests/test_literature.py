"""Lesson 5's helpers: the reference list, the small experiments, the closing table."""

import math

import numpy as np
import pytest
import torch

from rnncourse import literature, models, variants
from rnncourse.literature import Claim, Verdict

torch.set_num_threads(1)

KEYS = ["bengio1994", "hochreiter1997", "schuster1997", "gers2000", "pascanu2013", "chung2014",
        "zaremba2014", "jozefowicz2015", "bahdanau2015", "greff2017",
        "ba2016", "martin2018", "orvieto2023", "feng2024"]  # these four: checked in lesson 7b


# --- references -------------------------------------------------------------------------------

def test_every_paper_of_the_lesson_has_a_full_citation():
    assert sorted(p.key for p in literature.PAPERS) == sorted(KEYS)
    for key in KEYS:
        p = literature.paper(key)
        text = literature.citation(key)
        assert str(p.year) in text and p.title in text and p.link in text and p.venue in text
        assert p.claim.endswith(".") and p.setting
    bib = literature.bibliography().splitlines()
    assert len(bib) == len(KEYS) and all(line.startswith("- ") for line in bib)
    years = [int(line.split("(")[1][:4]) for line in bib]
    assert years == sorted(years)


def test_short_labels():
    assert literature.paper("hochreiter1997").short == "Hochreiter & Schmidhuber 1997"
    assert literature.paper("pascanu2013").short == "Pascanu et al. 2013"
    assert literature.paper("greff2017").short == "Greff et al. 2017"
    assert literature.paper("martin2018").short == "Martin & Cundy 2018"


def test_paper_map_is_a_table_with_escaped_pipes():
    lines = literature.paper_map().splitlines()
    assert len(lines) == 2 + len(KEYS)
    # every row has exactly the 4 columns: unescaped pipes are only the separators
    for line in lines[2:]:
        assert line.replace("\\|", "").count("|") == 5
    assert "\\|\\|dh_T/dh_t\\|\\|" in lines[2]


def test_unknown_paper_names_the_choices():
    with pytest.raises(ValueError, match="expected one of .*bengio1994.*got 'smith2020'"):
        literature.paper("smith2020")
    with pytest.raises(TypeError, match="key: expected one of"):
        literature.citation(1994)


# --- experiments without training -------------------------------------------------------------

def test_vanishing_check_reaches_the_bound():
    rows = literature.vanishing_check((0.8, 1.2), seq_len=40, hidden_size=16)
    assert [r["cell"] for r in rows] == ["rnn_tanh"] * 2 + ["rnn_sigmoid"] * 2
    for r in rows:
        assert r["measured"] == pytest.approx(r["theory"], rel=1e-6)
        assert r["grad_at_t0"] == pytest.approx(r["theory"] ** 40, rel=1e-6)
        assert r["norms"].shape == (41,)
    assert rows[2]["sigma_max"] == pytest.approx(3.2)  # 0.8 / (1/4)
    assert rows[0]["regime"] != rows[1]["regime"]


def test_vanishing_check_bad_arguments():
    with pytest.raises(TypeError, match="multiples: expected a non-empty list"):
        literature.vanishing_check(0.9)
    with pytest.raises(ValueError, match=r"multiples\[1\]: expected a finite number > 0"):
        literature.vanishing_check((0.9, -1.0))
    with pytest.raises(ValueError, match="cells: expected one of"):
        literature.vanishing_check((0.9,), cells=("lstm",))


def test_carousel_keeps_the_gradient_and_the_rnn_loses_it():
    r = literature.carousel_check(seq_len=60, hidden_size=16)
    assert abs(r["lstm"].rate - 1) < 0.05 and r["lstm"].norms[0] > 0.1
    assert r["rnn"].rate < 0.9 and r["rnn"].norms[0] < 1e-3


def test_cell_state_grows_without_a_forget_gate_only():
    free = literature.cell_state_growth(forget_gate=False, seq_len=300, hidden_size=16, batch=8)
    gated = literature.cell_state_growth(forget_bias=1.0, seq_len=300, hidden_size=16, batch=8)
    assert free.forget_mean == 1.0 and math.isinf(free.forget_bias)
    assert free.mean_abs_c.shape == free.saturated.shape == (300,)
    assert free.mean_abs_c[-1] > 10 * gated.mean_abs_c[-1]
    assert free.growth_exponent > 0.7 and abs(gated.growth_exponent) < 0.2
    assert gated.saturated.max() == 0 and free.saturated[-1] > 0.3
    again = literature.cell_state_growth(forget_gate=False, seq_len=300, hidden_size=16, batch=8)
    np.testing.assert_array_equal(free.mean_abs_c, again.mean_abs_c)


def test_cell_state_growth_bad_arguments():
    with pytest.raises(TypeError, match="forget_gate: expected a bool, got str"):
        literature.cell_state_growth(forget_gate="no")
    with pytest.raises(ValueError, match="seq_len: expected an int >= 2, got 1"):
        literature.cell_state_growth(seq_len=1)
    with pytest.raises(TypeError, match=r"forget_bias\[0\]: expected a number, got str"):
        literature.cell_state_growth(forget_bias="1")


def test_forget_bias_lets_more_gradient_through_at_initialisation():
    rows = literature.forget_bias_gradient((0.0, 1.0, 2.0), seq_len=50, hidden_size=16)
    assert [r["forget_bias"] for r in rows] == [0.0, 1.0, 2.0]
    assert rows[1]["sigma_b"] == pytest.approx(1 / (1 + math.exp(-1)))
    assert rows[0]["rate"] < rows[1]["rate"] < rows[2]["rate"]
    assert rows[0]["grad_at_t0"] < rows[1]["grad_at_t0"] < rows[2]["grad_at_t0"]


def test_mean_forget_bias_reads_what_was_set():
    for core in ["torch", "course"]:
        model = models.SequenceRegressor("lstm", 2, 8, 1, forget_bias=1.5, core=core, seed=0)
        assert literature.mean_forget_bias(model) == pytest.approx(1.5)
        assert literature.mean_forget_bias(model.core) == pytest.approx(1.5)
    with pytest.raises(TypeError, match="expected an LSTM or a model with an LSTM core, got "
                                        "SequenceRegressor"):
        literature.mean_forget_bias(models.SequenceRegressor("gru", 2, 8, 1, core="course"))
    with pytest.raises(TypeError, match="got str"):
        literature.mean_forget_bias("lstm")


# --- experiments with (very short) training ---------------------------------------------------

def test_gated_race_runs_every_model_and_seed():
    race = literature.gated_race(seeds=(0, 1), T=8, hidden_size=8, steps=20, n_test=50,
                                 eval_every=10, target=1e-9)
    assert list(race) == list(literature.RACE_MODELS)
    assert all(len(runs) == 2 and all(r.steps == 20 for r in runs) for runs in race.values())
    assert race["LSTM, b_f = 1"][0].config["forget_bias"] == 1.0
    assert race["GRU"][0].config["core"] == "course"
    assert race["GRU"][0].losses != race["GRU"][1].losses  # different seeds


def test_clipping_check_diverges_only_without_clipping():
    runs = literature.clipping_check(steps=40)
    assert runs["plain"].diverged_at is not None and runs["clipped"].diverged_at is None
    with pytest.raises(ValueError, match="threshold: expected a finite number > 0, got -1.0"):
        literature.clipping_check(threshold=-1.0)


def test_bidirectional_check_matches_parameters_and_floor():
    out = literature.bidirectional_check(T=8, steps=10)
    assert out["floor"] == pytest.approx(variants.window_average_floor(8, 2))
    uni, bi = out["one direction"], out["bidirectional"]
    assert abs(uni.n_params - bi.n_params) <= 0.1 * uni.n_params
    assert uni.final_eval > 0 and bi.final_eval > 0
    with pytest.raises(ValueError, match="T: expected an int >= 2, got 1"):
        literature.bidirectional_check(T=1)


def test_attention_check_reports_exact_match_by_length():
    out = literature.attention_check(steps=3, min_len=3, max_len=5, n_train=64, n_test=30)
    assert set(out) == {"attention", "no attention"}
    for r in out.values():
        assert 0 <= r["exact_match"] <= 1 and set(r["by_length"]) <= {3, 4, 5}
        assert all(0 <= v <= 1 for v in r["by_length"].values())
    assert out["attention"]["params"] > out["no attention"]["params"]
    with pytest.raises(TypeError, match="seed: expected an int >= 0, got float"):
        literature.attention_check(seed=0.5)


def test_learning_rate_sweep_shares_add_up():
    sweep = literature.learning_rate_sweep((1e-3, 1e-2), hidden_sizes=(4, 8), steps=5)
    assert sweep.mse.shape == (2, 2) and np.all(sweep.mse > 0)
    assert sum(sweep.share.values()) == pytest.approx(1.0)
    assert set(sweep.share) == {"learning rate", "hidden size", "interaction"}
    with pytest.raises(TypeError, match="hidden_sizes: expected a non-empty list of ints"):
        literature.learning_rate_sweep(hidden_sizes=16)
    with pytest.raises(ValueError, match=r"hidden_sizes\[0\]: expected an int >= 1, got 0"):
        literature.learning_rate_sweep(hidden_sizes=(0,))


# --- the closing table ------------------------------------------------------------------------

def test_claims_table():
    claims = [Claim("pascanu2013", "rate <= γ σ", "bound", "||g|| = 1", "agrees"),
              Claim("chung2014", "GRU ≈ LSTM", "race", "400 vs 800", "partly", "faster here")]
    lines = literature.claims_table(claims).splitlines()
    assert len(lines) == 4 and "Pascanu et al. 2013" in lines[2]
    assert lines[0].endswith("| verdict |")
    assert "\\|\\|g\\|\\|" in lines[2] and "partly: faster here" in lines[3]
    assert claims[0].verdict is Verdict.AGREES and claims[1].verdict is Verdict.PARTLY
    assert claims[1].to_dict()["verdict"] == "partly"


def test_one_verdict_type_with_three_values_shared_by_lessons_5_and_8():
    from rnncourse import findings

    assert findings.Verdict is Verdict and findings.CheckRow("05", "c", "e", "m", "partly",
                                                             "s").verdict is Verdict.PARTLY
    assert [v.value for v in Verdict] == ["agrees", "partly", "disagrees"]
    assert Verdict.of("disagrees").needs_reason and not Verdict.AGREES.needs_reason
    assert literature.verdict_summary(["agrees", Verdict.PARTLY, "agrees"]) == \
        "2 agree, 1 partly, 0 disagree"
    with pytest.raises(ValueError, match=r"verdicts\[1\]: expected one of \['agrees', "
                                         r"'partly', 'disagrees'\], got 'yes'"):
        literature.verdict_summary(["agrees", "yes"])
    with pytest.raises(TypeError, match=r"verdict: expected a Verdict or one of .*got bool"):
        Verdict.of(True)


def test_claim_checks_its_fields():
    with pytest.raises(ValueError, match="verdict: expected one of \\['agrees', 'partly', "
                                         "'disagrees'\\], got 'maybe'"):
        Claim("gers2000", "c", "e", "m", "maybe")
    with pytest.raises(ValueError, match="why: expected an explanation when verdict='disagrees'"):
        Claim("gers2000", "c", "e", "m", "disagrees")
    with pytest.raises(ValueError, match="why: expected an explanation when verdict='partly'"):
        Claim("gers2000", "c", "e", "m", "partly", "  ")
    with pytest.raises(ValueError, match="key: expected one of"):
        Claim("nobody2001", "c", "e", "m", "agrees")
    with pytest.raises(TypeError, match="measured: expected a str, got float"):
        Claim("gers2000", "c", "e", 0.5, "agrees")
    with pytest.raises(TypeError, match="claims: expected a non-empty list of Claim"):
        literature.claims_table([])
    with pytest.raises(TypeError, match=r"claims\[0\]: expected a Claim, got dict"):
        literature.claims_table([{"paper": "gers2000"}])
