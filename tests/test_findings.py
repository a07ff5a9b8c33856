"""Lesson 8's findings: compiling records into checks, producers, the HTML report, bad input."""

import pytest
import torch

from rnncourse import findings, results

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def own_results_folder(tmp_path, monkeypatch):
    """Nothing here may read or write the repository's results folder."""
    monkeypatch.setenv(results.ENV, str(tmp_path / "unused"))


def complexity(T_exp=1.0, H_exp=2.0, *, lesson=True):
    """Lesson 2's record (``lesson=False``: lesson 8's recomputation, without truncation)."""
    data = {"T_grid": [10, 20, 40], "H_grid": [100, 200, 400], "H_small": [8, 16],
            "times": {"numpy_T": [1.0, 2.0, 4.0], "numpy_H": [1.0, 4.0, 16.0]},
            "exponents": {"numpy_T": T_exp, "numpy_H": H_exp},
            "r2": {"numpy_T": 1.0, "numpy_H": 1.0}, "small_H_exponent": 0.2,
            "gradcheck_max_relative_error": 1e-9}
    if lesson:
        data["truncation_relative_error"] = {"1": 0.5, "5": 0.1, "10": 0.0}
    return data


def train_run(best, steps_to_target, cell, steps=500):
    return {"losses": [0.2, 0.1], "grad_norms": [1.0, 0.5], "evals": [[25, best]],
            "steps": steps, "steps_to_target": steps_to_target, "seconds": 2.0,
            "seconds_to_target": None if steps_to_target is None else 1.0,
            "train_seconds": 1.5, "ms_per_step": 3.0, "n_params": 100, "final_loss": 0.1,
            "final_eval": best, "best_eval": best, "diverged": False, "diverged_at": None,
            "config": {"task": "adding", "T": 30, "hidden_size": 32, "cell": cell}}


def adding_race(runs):
    return {"setting": {"T": 30, "hidden_size": 32, "steps": 500, "lr": 1e-2, "batch": 64,
                        "target": 0.01, "n_test": 1000, "eval_every": 25},
            "baseline": 1 / 6, "runs": runs}


def reversal(att=0.99, plain=0.3):
    def run(acc, steps):
        return {"train_steps": 150, "seconds": 3.0, "test_exact_match": acc,
                "curve_steps": [50, 100, 150], "curve_exact_match": [0.1, 0.5, acc],
                "steps_to_target": steps, "seconds_to_target": None if steps is None else 2.0,
                "parameters": 1000}
    return {"attention": run(att, 100), "no attention": run(plain, None)}


def row(rows, fragment):
    (hit,) = [r for r in rows if fragment in r.claim]
    return hit


def test_pass_and_fail_rows_are_computed_from_the_numbers(tmp_path):
    results.save_result("02_core_operations", "complexity", complexity(1.02, 3.1), tmp_path)
    results.save_result("07_advanced", "reversal", reversal(0.97, 0.9), tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    assert row(report.checks, "linearly in T").passed
    assert row(report.checks, "linearly in T").measured == "numpy 1.02"
    quad = row(report.checks, "quadratically in H")
    assert not quad.passed and "3.10" in quad.measured
    assert quad.verdict is findings.Verdict.DISAGREES
    assert quad.reason == "expected exponent of H in [1.5, 2.5]"
    assert row(report.checks, "finite differences").passed
    # attention reached 97% but the plain model is only 7 points behind: fails by design
    assert not row(report.checks, "digit reversal").passed
    assert {r.claim for r in report.failed} == {quad.claim, row(report.checks, "reversal").claim}
    assert all(r.source.startswith(("02_core_operations/", "07_advanced/")) for r in report.checks)


def test_missing_records_are_detected_and_listed_not_checked(tmp_path):
    # lesson 8's own recomputation of lesson 2 has no truncation errors
    results.save_result(findings.LESSON, "02_core", complexity(lesson=False), tmp_path)
    inv = findings.find_records(tmp_path)
    assert inv.status["complexity"] == "found"
    assert {k for k, s in inv.status.items() if s == "missing"} == set(findings.SOURCES) - {
        "complexity"}
    rows, not_checked = findings.check_records(inv)
    assert all(r.lesson == "02" for r in rows)
    reasons = {n.claim: n.reason for n in not_checked}
    assert "no hybrid record" in reasons[row(findings.CHECKS, "Conv1d").claim]
    # a record without the numbers a check needs: not checked, with the reason
    assert "lacks the numbers" in reasons[row(findings.CHECKS, "truncated BPTT").claim]
    assert any("missing" in line and "hybrid" in line for line in inv.lines())


def test_a_corrupt_file_is_skipped_not_fatal(tmp_path):
    results.save_result("07_advanced", "reversal", reversal(), tmp_path)
    bad = tmp_path / "02_core_operations" / "complexity.json"
    bad.parent.mkdir()
    bad.write_text('{"lesson": "02_core_operations", "name": ')  # cut short
    report = findings.compile_findings(tmp_path, compute_missing=False)
    assert report.inventory.skipped == [bad]
    assert report.inventory.status["complexity"] == "missing"
    assert row(report.checks, "digit reversal").passed


def test_a_record_with_wrong_types_gives_not_checked(tmp_path):
    data = complexity()
    data["exponents"] = {"numpy_T": "fast", "numpy_H": None}
    rows, not_checked = findings.check_records({"complexity": data})
    assert not any("linearly in T" in r.claim for r in rows)
    assert any("linearly in T" in n.claim for n in not_checked)


def test_the_lessons_own_record_wins_over_a_recomputation(tmp_path):
    results.save_result(findings.LESSON, "07_reversal", reversal(0.5, 0.1), tmp_path)
    inv = findings.find_records(tmp_path, keys=["reversal"])
    assert inv.records["reversal"].lesson == findings.LESSON
    results.save_result("07_advanced", "reversal", reversal(0.99, 0.3), tmp_path)
    inv = findings.find_records(tmp_path, keys=["reversal"])
    assert inv.records["reversal"].lesson == "07_advanced" and list(inv.status) == ["reversal"]
    (check,), _ = findings.check_records(inv)
    assert check.passed and check.source == "07_advanced/reversal"
    assert "(recomputed here)" in findings.check_records(
        {"reversal": results.load_results(tmp_path, lesson=findings.LESSON)[0]})[0][0].source


def test_literature_verdicts_become_rows_with_their_reasons(tmp_path):
    claims = [{"paper": "pascanu2013", "claim": "rate bounded", "experiment": "T = 200",
               "measured": "0.500", "verdict": "agrees", "why": ""},
              {"paper": "chung2014", "claim": "GRU comparable", "experiment": "3 seeds",
               "measured": "GRU faster", "verdict": "partly", "why": "small task"}]
    results.save_result("05_literature", "literature", {"claims": claims}, tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    yes, partly = (row(report.checks, "rate bounded"), row(report.checks, "GRU comparable"))
    assert yes.passed and yes.lesson == "05" and yes.verdict is findings.Verdict.AGREES
    # "partly" stays "partly": neither a pass nor a failure, and it carries lesson 5's reason
    assert partly.verdict is findings.Verdict.PARTLY and partly.explained
    assert not partly.passed and partly not in report.failed and "small task" in partly.reason
    assert report.verdicts() == "1 agree, 1 partly, 0 disagree"
    html = report.checks_html()
    assert ">partly</td>" in html and ">agrees</td>" in html and "FAIL" not in html
    assert html.count("background:#fdf0d5") == 1  # partly: amber, not the red of disagrees


def test_model_rows_and_tables(tmp_path):
    results.save_result("07_advanced", "reversal", reversal(), tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    assert [(r.model, r.params, r.value, r.group) for r in report.models] == [
        ("GRU encoder-decoder, attention", 1000, 0.99, "reversal"),
        ("GRU encoder-decoder, no attention", 1000, 0.3, "reversal")]
    assert "digit reversal" in report.models_text() and "agrees" in report.checks_text()
    assert "FAIL" not in report.checks_html() and "disagrees" not in report.checks_html()
    empty = findings.compile_findings(tmp_path / "empty", compute_missing=False)
    assert empty.checks_text() == "(no checks)" and empty.models_text() == "(no models)"


def test_gated_cells_come_from_the_saved_config_not_the_label(tmp_path):
    # labels that name no cell: the old check parsed "LSTM"/"GRU" out of them and gave up
    runs = {"model A": train_run(0.004, 300, "gru"), "model B": train_run(0.006, 450, "lstm"),
            "baseline net": train_run(0.16, None, "rnn")}
    results.save_result("06_experiments", "adding_T50", adding_race(runs), tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    check = row(report.checks, "adding problem")
    assert check.passed and check.source == "06_experiments/adding_T50"
    adding = {r.model: r for r in report.models if r.group == "adding"}
    assert {k: (r.cell, r.gated) for k, r in adding.items()} == {
        "model A": ("gru", True), "model B": ("lstm", True), "baseline net": ("rnn", False)}
    assert adding["model A"].task == "adding problem (T = 30)"
    assert adding["model A"].target == 0.01 and adding["model A"].baseline == 1 / 6
    # the tanh RNN learning after all: the verdict follows the numbers
    runs["baseline net"] = train_run(0.02, None, "rnn")
    results.save_result("06_experiments", "adding_T50", adding_race(runs), tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    assert row(report.checks, "adding problem").verdict is findings.Verdict.DISAGREES
    assert "tanh RNN > 0.8 x 1/6" in row(report.checks, "adding problem").reason


def test_fast_producers_save_records_in_the_lessons_shape(tmp_path, capsys):
    # verbose, as lesson 8 calls it: recomputing shows a progress bar (a long wait otherwise)
    inv = findings.gather(tmp_path, keys=["complexity", "gradient_flow"], verbose=True)
    assert "recomputing missing records" in capsys.readouterr().err
    assert inv.status == {"complexity": "computed", "gradient_flow": "computed"}
    flow = inv.records["gradient_flow"]
    assert (flow.lesson, flow.name) == (findings.LESSON, "04_core")
    assert (tmp_path / findings.LESSON / "04_core.json").is_file()
    # the keys lesson 4 saves, with the same inner structure
    lesson4 = {"orthogonal_no_input_rates", "saturation_rates", "gaussian_rate",
               "gated_grad_at_t0", "gated_rates", "cliff", "training"}
    assert lesson4 <= set(flow.data)
    assert set(flow.data["orthogonal_no_input_rates"][0]) == {
        "cell", "sigma_max", "gamma", "theory", "measured", "grad_at_t0"}
    cost = inv.records["complexity"].data
    assert set(cost["exponents"]) == {"numpy_T", "numpy_H", "torch_T", "torch_H"}
    assert len(cost["times"]["numpy_T"]) == len(cost["T_grid"]) == 5
    rows, _ = findings.check_records(inv)
    assert [r.lesson for r in rows] == ["02"] * 4 + ["04"] * 7
    # gradient flow is deterministic arithmetic: every row passes (timings are lesson 8's to judge)
    assert all(r.passed for r in rows if r.lesson == "04"), [r for r in rows if not r.passed]
    again = findings.gather(tmp_path, keys=["gradient_flow"])  # now found, not recomputed
    assert again.status == {"gradient_flow": "found"} and not again.seconds


def test_html_export_is_self_contained(tmp_path):
    results.save_result("02_core_operations", "complexity", complexity(), tmp_path)
    results.save_result("07_advanced", "reversal", reversal(), tmp_path)
    path = findings.write_report(folder=tmp_path)
    assert path == tmp_path / findings.LESSON / "report.html" and path.is_file()
    text = path.read_text(encoding="utf-8")
    assert text.count("plotly.js v") == 1 and '<script src="http' not in text
    assert text.count('class="plotly-graph-div"') == len(findings.figures(
        findings.compile_findings(tmp_path, compute_missing=False)))
    assert "linearly in T" in text and "GRU encoder-decoder, attention" in text
    other = findings.write_report(tmp_path / "sub" / "r.htm", folder=tmp_path)
    assert other.is_file()


def test_bad_arguments_name_expected_and_given(tmp_path):
    with pytest.raises(TypeError, match=r"path: expected a str or Path.*got int"):
        findings.write_report(3, folder=tmp_path)
    with pytest.raises(ValueError, match=r"path: expected .*\.html, got .*report\.txt"):
        findings.write_report(tmp_path / "report.txt", folder=tmp_path)
    with pytest.raises(TypeError, match=r"report: expected a Findings.*got dict"):
        findings.write_report(tmp_path / "r.html", report={})
    with pytest.raises(ValueError, match=r"keys: expected names from .*complexity.*got \['nope'\]"):
        findings.gather(tmp_path, keys=["nope"])
    with pytest.raises(TypeError, match=r"keys: expected a list .*got str"):
        findings.gather(tmp_path, keys="complexity")
    with pytest.raises(TypeError, match=r"compute_missing: expected a bool, got str"):
        findings.gather(tmp_path, compute_missing="yes")
    with pytest.raises(ValueError, match=r"expected one of 08_findings/02_core.*got 02/x"):
        findings.produce("02", "x", folder=tmp_path)
    with pytest.raises(TypeError, match=r"records: expected an Inventory or a dict.*got int"):
        findings.check_records(5)
    with pytest.raises(TypeError, match=r"records\['complexity'\]: expected a Record or a dict, "
                                        r"got list"):
        findings.check_records({"complexity": [1, 2]})
    with pytest.raises(TypeError, match=r"folder: expected a path.*got int"):
        findings.compile_findings(7, compute_missing=False)
    with pytest.raises(TypeError, match=r"rows: expected a non-empty list of dicts, got str"):
        findings.format_table("abc")
    report = findings.compile_findings(tmp_path, compute_missing=False)
    with pytest.raises(ValueError, match=r"fragment: expected .*exactly one.*got 0 matches"):
        report.check("no such claim")


def test_lesson8_gets_the_same_rows_as_before_the_split(tmp_path):
    """Records of lessons 2-7 and the rows the single-module findings compiled from them."""
    import json
    from pathlib import Path

    before = json.loads((Path(__file__).parent / "data" / "lesson8_before.json").read_text(
        encoding="utf-8"))
    for key, data in before["records"].items():
        results.save_result(*key.split("/"), data, tmp_path)
    # lesson 6's spoken digits came after the split: its record, check and model row are new
    results.save_result("06_experiments", "speech_digits", speech_record(), tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    newer = {"depth", "dropout"}  # lesson 6's records from after this file was written (no record)
    seven_b = {k for k, c in findings.SOURCES.items() if c[0][0].startswith("07b")}
    # lesson 7b came after the split too
    assert {r.reason for r in report.not_checked if r.lesson != "07b"} == {
        f"no {k} record" for k in newer}
    assert {s for k, s in report.inventory.status.items() if k not in newer | seven_b} == {"found"}
    rows = [[r.lesson, r.claim, r.expected, r.measured, r.verdict.value, r.source]
            for r in report.checks if r.source != "06_experiments/speech_digits"]
    assert rows == before["checks"]
    assert report.verdicts() == "34 agree, 2 partly, 0 disagree"
    assert [r.as_dict() for r in report.models if r.group != "speech"] == before["models"]


def test_the_adding_race_record_is_what_lessons_6_and_8_save(tmp_path, monkeypatch):
    from rnncourse import experiments

    monkeypatch.setenv("RNNCOURSE_WORKERS", "1")
    setting = {**experiments.ADDING_RACE, "T": 5, "hidden_size": 4, "steps": 4, "n_test": 16,
               "eval_every": 2}
    race = experiments.adding_race({"plain": {"cell": "rnn"}, "gated": {"cell": "gru"}},
                                   setting, seed=0)
    assert race["setting"] == setting and race["baseline"] == 1 / 6
    assert [r.steps for r in race["runs"].values()] == [4, 4]
    for lesson, name in [("06_experiments", "adding_T50"), (findings.LESSON, "06_adding")]:
        results.save_result(lesson, name, race, tmp_path)  # checked against AddingRace
    rows = findings.model_rows(findings.find_records(tmp_path, keys=["adding"]))
    assert [(r.model, r.cell, r.gated, r.task) for r in rows] == [
        ("plain", "rnn", False, "adding problem (T = 5)"),
        ("gated", "gru", True, "adding problem (T = 5)")]
    with pytest.raises(TypeError, match="setting: expected a dict of adding_run arguments"):
        experiments.adding_race({"plain": {"cell": "rnn"}}, 5)


def test_lesson6s_depth_dropout_and_literature_records_become_rows():
    from rnncourse.findings.checking import literature_rows
    from rnncourse.findings.course_checks import depth_costs_time_not_paying, dropout_narrows_gap
    from rnncourse.results import Record

    def run(cell, layers, params, ms, bpc):
        return {"config": {"cell": cell, "num_layers": layers}, "n_params": params,
                "step_cpu_ms": ms, "val_bpc": bpc}

    depth = {"runs": {"a": run("lstm", 1, 10, 5.0, 3.0), "b": run("lstm", 3, 30, 12.0, 3.5)}}
    measured, holds = depth_costs_time_not_paying(depth)
    assert holds and "lstm: 1 layer 3.000, 3 layers 3.500" in measured
    depth["runs"]["b"]["val_bpc"] = 2.9  # the deeper model wins: the claim fails
    assert not depth_costs_time_not_paying(depth)[1]

    def drop(p, gap, best, steps=200):
        return {"config": {"dropout": p, "dropout_mode": "standard"}, "gap": gap,
                "best_step": best, "steps": steps}

    data = {"runs": {"none": drop(0.0, 1.2, 160), "d": drop(0.3, 0.5, 200)}}
    assert dropout_narrows_gap(data)[1]
    data["runs"]["d"]["gap"] = 1.0
    assert not dropout_narrows_gap(data)[1]
    claim = {"paper": "zaremba2014", "claim": "c", "experiment": "e", "measured": "m",
             "verdict": "partly", "why": "small budget"}
    rows = literature_rows([Record("06_experiments", "literature", "", {}, {"claims": [claim]},
                                   None)])
    assert len(rows) == 1 and rows[0].lesson == "05" and rows[0].reason == "lesson 6: small budget"


def speech_record(gru_seeds=(0.86, 0.84), logistic=0.67, spread=0.01):
    return {"voices": {"train": ["a"], "validation": ["b"], "test": ["c"]},
            "utterances": {"train": 1980, "validation": 450, "test": 630},
            "majority": 0.1, "logistic": logistic, "logistic_weight_decay": 1e-3,
            "gru": sum(gru_seeds) / len(gru_seeds), "gru_seeds": list(gru_seeds),
            "gru_lr": 1e-2, "gru_validation": {"0.003": 0.9, "0.01": 0.93},
            "seed_spread": spread, "margin": max(0.05, 3 * spread),
            "gru_run": train_run(0.9, None, "gru")}


def test_the_speech_row_reads_lesson_6s_record(tmp_path):
    results.save_result("06_experiments", "speech_digits", speech_record(), tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    check = row(report.checks, "spoken digits")
    assert check.passed and "GRU 85.0%" in check.measured
    (model,) = [r for r in report.models if r.task.startswith("spoken digits")]
    assert model.value == pytest.approx(0.85) and model.baseline == 0.67 and model.cell == "gru"
    # one seed within the margin of the averaged frames: the claim does not hold
    results.save_result("06_experiments", "speech_digits",
                        speech_record(gru_seeds=(0.86, 0.70)), tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    assert not row(report.checks, "spoken digits").passed
