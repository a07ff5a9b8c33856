"""Lesson 8's findings: compiling records into checks, producers, the HTML report, bad input."""

import pytest
import torch

from rnncourse import findings, results

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def own_results_folder(tmp_path, monkeypatch):
    """Nothing here may read or write the repository's results folder."""
    monkeypatch.setenv(results.ENV, str(tmp_path / "unused"))


def complexity(T_exp=1.0, H_exp=2.0):
    return {"T_grid": [10, 20, 40], "H_grid": [100, 200, 400],
            "times": {"numpy_T": [1.0, 2.0, 4.0], "numpy_H": [1.0, 4.0, 16.0]},
            "exponents": {"numpy_T": T_exp, "numpy_H": H_exp}, "small_H_exponent": 0.2,
            "gradcheck_max_relative_error": 1e-9}


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
    assert not quad.passed and "3.10" in quad.measured and not quad.documented
    assert row(report.checks, "finite differences").passed
    # attention reached 97% but the plain model is only 7 points behind: fails by design
    assert not row(report.checks, "digit reversal").passed
    assert {r.claim for r in report.failed} == {quad.claim, row(report.checks, "reversal").claim}
    assert all(r.source.startswith(("02_core_operations/", "07_advanced/")) for r in report.checks)


def test_missing_records_are_detected_and_listed_not_checked(tmp_path):
    results.save_result("02_core_operations", "complexity", complexity(), tmp_path)
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
               "measured": "0.500", "agrees": "yes", "why": ""},
              {"paper": "chung2014", "claim": "GRU comparable", "experiment": "3 seeds",
               "measured": "GRU faster", "agrees": "partly", "why": "small task"}]
    results.save_result("05_literature", "literature", {"claims": claims}, tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    yes, partly = (row(report.checks, "rate bounded"), row(report.checks, "GRU comparable"))
    assert yes.passed and yes.lesson == "05"
    assert not partly.passed and partly.documented and "small task" in partly.note


def test_model_rows_and_tables(tmp_path):
    results.save_result("07_advanced", "reversal", reversal(), tmp_path)
    report = findings.compile_findings(tmp_path, compute_missing=False)
    assert [(r.model, r.params, r.value, r.group) for r in report.models] == [
        ("GRU encoder-decoder, attention", 1000, 0.99, "reversal"),
        ("GRU encoder-decoder, no attention", 1000, 0.3, "reversal")]
    assert "digit reversal" in report.models_text() and "pass" in report.checks_text()
    assert "FAIL" not in report.checks_html()
    assert findings.format_table([]) == "(no rows)"


def test_fast_producers_save_records_in_the_lessons_shape(tmp_path):
    inv = findings.gather(tmp_path, keys=["complexity", "gradient_flow"])
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
    path = findings.export_html(folder=tmp_path)
    assert path == tmp_path / findings.LESSON / "report.html" and path.is_file()
    text = path.read_text(encoding="utf-8")
    assert text.count("plotly.js v") == 1 and '<script src="http' not in text
    assert text.count('class="plotly-graph-div"') == len(findings.figures(
        findings.compile_findings(tmp_path, compute_missing=False)))
    assert "linearly in T" in text and "GRU encoder-decoder, attention" in text
    other = findings.export_html(tmp_path / "sub" / "r.htm", folder=tmp_path)
    assert other.is_file()


def test_bad_arguments_name_expected_and_given(tmp_path):
    with pytest.raises(TypeError, match=r"path: expected a str or Path.*got int"):
        findings.export_html(3, folder=tmp_path)
    with pytest.raises(ValueError, match=r"path: expected .*\.html, got .*report\.txt"):
        findings.export_html(tmp_path / "report.txt", folder=tmp_path)
    with pytest.raises(TypeError, match=r"report: expected a Findings.*got dict"):
        findings.export_html(tmp_path / "r.html", report={})
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
    with pytest.raises(TypeError, match=r"rows: expected a list of dicts, got str"):
        findings.format_table("abc")
    report = findings.compile_findings(tmp_path, compute_missing=False)
    with pytest.raises(ValueError, match=r"fragment: expected .*exactly one.*got 0 matches"):
        report.check("no such claim")
