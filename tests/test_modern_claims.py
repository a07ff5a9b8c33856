"""Lesson 7b's papers in lesson 5's table and lesson 7b's rows in lesson 8, from its records."""

import pytest

from rnncourse import findings, modern_claims, records
from rnncourse.literature import Verdict
from rnncourse.results import load_results, save_result

LESSON = modern_claims.LESSON


def run(test_mse=0.3, **extra):
    """A TrainRun record of lesson 7b's adding problem (only the fields the schema declares)."""
    return {"losses": [0.2, 0.1], "grad_norms": [1.0, 0.5], "evals": [[25, 0.1]], "steps": 50,
            "steps_to_target": None, "seconds": 1.0, "seconds_to_target": None,
            "train_seconds": 1.0, "ms_per_step": 20.0, "n_params": 100, "final_loss": 0.1,
            "final_eval": test_mse, "best_eval": test_mse, "diverged": False,
            "diverged_at": None, "config": {"task": "adding"}, "test_mse": test_mse,
            "cpu_s_per_step": 0.02, **extra}


def lesson_records(*, lstm16=0.2, wide=0.8, lru=0.004, mingru=0.003, gru=0.16, ratio512=2.5):
    return {
        "recall": {"pairs": [2, 16], "memory_accuracy": {"2": 1.0, "16": 0.99},
                   "lstm_accuracy": {"2": 0.97, "16": lstm16},
                   "gap": {"2": 0.03, "16": 0.99 - lstm16},
                   "n_params": {"memory": 4880, "lstm": 4900},
                   "memory_steps": {"2": 100, "16": 200}, "lstm_lr": {"2": 0.01, "16": 0.003},
                   "read_weights": [[1.0, 0.0], [0.0, 1.0]], "diagonal_share": 0.9},
        "scan_checks": {"blelloch_T1": 0.0, "gradient": 2e-16},
        "counts": {"T": [1, 2, 4, 8], "blelloch_work": [1, 2, 5, 12],
                   "blelloch_depth": [1, 3, 5, 7]},
        "cost": {"T": [64, 1024, 16384], "sequential": [1e-3, 1.6e-2, 0.26],
                 "blelloch": [1e-4, 8e-4, 8e-3], "cumsum": [1e-5, 1e-4, 1e-3],
                 "spread": {"sequential": [1.1, 1.1, 1.1]},
                 "fit_exponent": {"sequential": 1.0, "blelloch": 0.9, "cumsum": 1.0},
                 "noise": 1.05, "speedup_longest": 32.0,
                 "wide_T1024": {"T": [1024], "sequential": [0.1], "blelloch": [0.1 / wide],
                                "cumsum": [0.01], "spread": {"sequential": [1.0]},
                                "loop_over_scan": wide}},
        "adding": {"mingru": run(mingru), "lru": run(lru), "gru": run(gru), "lstm": run(0.17)},
        "per_step": {"512": {"mingru": 0.05, "gru": 0.05 * ratio512, "lstm": 0.03},
                     "2048": {"mingru": 0.2, "gru": 0.2 * ratio512, "lstm": 0.1}},
        "gradient_rate": {"max_error": 1e-15, "abs_lambda": [0.5, 0.9]},
    }


def test_the_records_match_their_declared_schemas(tmp_path):
    for name, data in lesson_records().items():
        save_result(LESSON, name, data, tmp_path)  # checked against the schema when saved
    assert {r.name for r in load_results(tmp_path, lesson=LESSON)} == set(lesson_records())
    with pytest.raises(records.RecordError, match=r"recall.*memory_accuracy"):
        bad = lesson_records()["recall"] | {"memory_accuracy": 0.9}
        save_result(LESSON, "recall", bad, tmp_path)
    with pytest.raises(records.RecordError, match="declared records"):
        save_result(LESSON, "something_else", {}, tmp_path)


def test_verdicts_follow_the_numbers():
    agree = modern_claims.claims(lesson_records(wide=1.5, ratio512=100.0))
    assert [c.paper for c in agree] == ["ba2016", "martin2018", "orvieto2023", "feng2024"]
    assert [c.verdict for c in agree] == [Verdict.AGREES] * 4
    # what this CPU gives: the loop wins with wide channels, minGRU only a few times faster
    cpu = modern_claims.claims(lesson_records())
    assert [c.verdict for c in cpu] == [Verdict.AGREES, Verdict.PARTLY, Verdict.AGREES,
                                        Verdict.PARTLY]
    assert "2.5x at T = 512, not 175x" in cpu[3].why and "does learn the task" in cpu[3].why
    assert "vectorisation" in cpu[1].why
    worse = modern_claims.claims(lesson_records(lstm16=0.995, lru=0.2, gru=0.1, ratio512=0.5,
                                                mingru=0.2))
    assert [c.verdict for c in worse] == [Verdict.DISAGREES, Verdict.PARTLY, Verdict.DISAGREES,
                                          Verdict.DISAGREES]
    partly = modern_claims.claims(lesson_records(lstm16=0.7, lru=0.08))
    assert partly[0].verdict is Verdict.PARTLY and partly[2].verdict is Verdict.PARTLY
    assert all(c.why for c in cpu + worse + partly if c.verdict is not Verdict.AGREES)


def test_claims_name_the_missing_record():
    data = lesson_records()
    del data["per_step"]
    with pytest.raises(KeyError, match="per_step missing"):
        modern_claims.claims(data)


def test_load_claims_without_and_with_lesson_7b(tmp_path):
    none = modern_claims.load_claims(tmp_path)
    assert none.claims == [] and none.missing == list(modern_claims.RECORDS)
    assert "has not saved" in none.message and "run it" in none.message
    for name, data in lesson_records().items():
        save_result(LESSON, name, data, tmp_path)
    got = modern_claims.load_claims(tmp_path)
    assert [c.paper for c in got.claims] == ["ba2016", "martin2018", "orvieto2023", "feng2024"]
    assert got.missing == []


def test_lesson_8_checks_lesson_7b_and_lists_them_when_missing(tmp_path):
    data = lesson_records()
    sources = {"recall": data["recall"], "scan_checks": data["scan_checks"],
               "scan_counts": data["counts"], "scan_cost": data["cost"],
               "linear_adding": data["adding"], "per_step": data["per_step"],
               "linear_gradient": data["gradient_rate"]}
    rows, skipped = findings.check_records(sources)
    mine = [r for r in rows if r.lesson == "07b"]
    assert len(mine) == 7 and all(r.passed for r in mine), [r for r in mine if not r.passed]
    assert not [s for s in skipped if s.lesson == "07b"]
    # the loop faster than the scan everywhere: the cost check disagrees, with its reason
    slow = data["cost"] | {"speedup_longest": 0.9}
    rows, _ = findings.check_records({"scan_cost": slow})
    (row,) = [r for r in rows if r.lesson == "07b"]
    assert row.verdict is Verdict.DISAGREES and row.reason.startswith("expected")
    # without lesson 7b's records, its claims are listed as not checked, naming the record
    rows, skipped = findings.check_records({})
    assert not [r for r in rows if r.lesson == "07b"]
    missing = [s for s in skipped if s.lesson == "07b"]
    assert len(missing) == 7 and all(s.reason.startswith("no ") for s in missing)
    inv = findings.find_records(tmp_path)
    assert inv.status["recall"] == "missing"
    assert any("07b_memory_and_long_sequences/recall" in line for line in inv.lines())


def test_lesson_8_carries_lesson_7b_verdicts_as_literature_rows(tmp_path):
    for name, data in lesson_records().items():
        save_result(LESSON, name, data, tmp_path)
    claims = modern_claims.load_claims(tmp_path).claims
    save_result(LESSON, "claims", {"claims": [c.to_dict() for c in claims]}, tmp_path)
    inv = findings.find_records(tmp_path)
    rows = findings.literature_rows(inv.extra)
    assert [r.verdict for r in rows] == [c.verdict for c in claims]
    assert all(r.lesson == "05" for r in rows)  # rows of lesson 5's table of the literature
    partly = [r for r in rows if not r.passed]
    assert partly and all(r.explained and r.reason.startswith("lesson 7b:") for r in partly)
