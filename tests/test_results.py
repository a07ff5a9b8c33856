"""The results store: where files go, what survives a round trip, what a bad file does."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from rnncourse import models, results, tasks, train

torch.set_num_threads(1)


def test_roundtrip_with_numpy_torch_and_non_finite(tmp_path):
    data = {
        "loss": np.float32(0.25), "steps": np.int64(7), "flag": np.bool_(True),
        "curve": np.array([1.0, 0.5, np.nan]), "ints": np.arange(3),
        "tensor": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "scalar": torch.tensor(1.5),
        "bad": [math.inf, -math.inf, math.nan], "nested": {"pair": (1, 2.5), 3: "x"},
        "path": Path("a/b"), "none": None, "text": "ok",
    }
    path = results.save_result("lesson_03", "gru T=50", data, folder=tmp_path)
    assert path.parent == tmp_path / "lesson_03" and path.name == "gru_T_50.json"
    # strict JSON on disk: non-finite values are strings
    on_disk = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert on_disk["data"]["bad"] == ["Infinity", "-Infinity", "NaN"]
    (rec,) = results.load_results(tmp_path)
    assert (rec.lesson, rec.name, rec.path) == ("lesson_03", "gru T=50", path)
    d = rec.data
    assert d["loss"] == 0.25 and d["steps"] == 7 and d["flag"] is True
    assert d["curve"][:2] == [1.0, 0.5] and math.isnan(d["curve"][2])
    assert d["ints"] == [0, 1, 2] and d["tensor"] == [[1.0, 2.0], [3.0, 4.0]]
    assert d["scalar"] == 1.5 and d["bad"][:2] == [math.inf, -math.inf]
    assert math.isnan(d["bad"][2])
    assert d["nested"] == {"pair": [1, 2.5], "3": "x"} and d["path"] == os.fspath(Path("a/b"))
    assert d["none"] is None and rec["text"] == "ok"
    assert set(rec.versions) == {"python", "numpy", "torch", "rnncourse"}
    assert rec.timestamp.endswith("+00:00")


def test_train_result_saves_directly(tmp_path):
    r = train.train(lambda: models.SequenceRegressor("rnn", 2, 4, 1),
                    lambda rng: tasks.adding_batch(8, 5, rng), F.mse_loss, steps=3, lr=1e-2,
                    progress=False, config={"T": np.int64(5)})
    results.save_result("l", "run", r, folder=tmp_path)
    (rec,) = results.load_results(tmp_path, lesson="l")
    assert rec["losses"] == r.losses and rec["n_params"] == r.n_params
    assert rec["config"]["T"] == 5 and rec["steps_to_target"] is None


def test_overwrite_filters_and_atomic_write(tmp_path):
    results.save_result("a", "x", {"v": 1}, folder=tmp_path)
    results.save_result("a", "x", {"v": 2}, folder=tmp_path)
    results.save_result("a", "y", {"v": 3}, folder=tmp_path, overwrite=False)
    results.save_result("a", "y", {"v": 4}, folder=tmp_path, overwrite=False)
    results.save_result("b", "x", {"v": 5}, folder=tmp_path)
    allr = results.load_results(tmp_path)
    assert [r["v"] for r in allr] == [2, 3, 4, 5]  # oldest first, x replaced
    assert [r["v"] for r in results.load_results(tmp_path, lesson="a")] == [2, 3, 4]
    assert [r["v"] for r in results.load_results(tmp_path, lesson="a", name="y")] == [3, 4]
    assert results.load_results(tmp_path, lesson="a").by_name()["y"]["v"] == 4
    assert not list(tmp_path.rglob("*.tmp")) and not allr.skipped


def test_corrupt_and_partial_files_are_skipped_with_a_warning(tmp_path):
    results.save_result("l", "good", {"v": 1}, folder=tmp_path)
    good = (tmp_path / "l" / "good.json").read_text()
    (tmp_path / "l" / "partial.json").write_text(good[: len(good) // 2])
    (tmp_path / "l" / "garbage.json").write_bytes(b"\xff\xfe not json")
    (tmp_path / "l" / "list.json").write_text("[1, 2]")
    (tmp_path / "l" / "nodata.json").write_text('{"lesson": "l"}')
    (tmp_path / "l" / ".half.json.tmp").write_text("{")  # a write in progress: ignored
    with pytest.warns(results.ResultsWarning) as caught:
        recs = results.load_results(tmp_path)
    assert [r.name for r in recs] == ["good"]
    assert sorted(p.name for p in recs.skipped) == [
        "garbage.json", "list.json", "nodata.json", "partial.json"]
    messages = " ".join(str(w.message) for w in caught)
    for bad in ("partial.json", "garbage.json", "list.json", "nodata.json"):
        assert bad in messages


def test_folder_resolution(tmp_path, monkeypatch):
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    monkeypatch.setenv(results.ENV, str(env))
    assert results.results_folder() == env and env.is_dir()
    assert results.results_folder(explicit) == explicit  # the argument wins
    monkeypatch.delenv(results.ENV)
    repo = Path(results.__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file() and os.access(repo, os.W_OK):
        assert results.results_folder(create=False) == repo / "results"
    monkeypatch.setattr(results, "_repo_results", lambda: None)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert results.results_folder(create=False) == tmp_path / "home" / ".rnncourse" / "results"
    assert results.load_results(tmp_path / "does-not-exist") == []


def test_results_survive_a_new_process(tmp_path):
    results.save_result("l", "n", {"curve": np.array([1.0, np.inf])}, folder=tmp_path)
    code = ("from rnncourse import results; r = results.load_results(); "
            "print(r[0].name, r[0].data['curve'])")
    env = dict(os.environ, RNNCOURSE_RESULTS=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(results.__file__).resolve().parent.parent)
    assert out.stdout.strip() == "n [1.0, inf]"


@pytest.mark.parametrize("args, exc, words", [
    (("l", "", {}), ValueError, "name: expected a non-empty name"),
    ((3, "n", {}), TypeError, "lesson: expected a str, got int"),
    (("l", "n", [1, 2]), TypeError, "data: expected a dict"),
    (("l", "n", {"f": object()}), TypeError, r"data\['f'\]: cannot store a object"),
    (("l", "n", {(1, 2): 3}), TypeError, "string keys"),
])
def test_bad_arguments(tmp_path, args, exc, words):
    with pytest.raises(exc, match=words):
        results.save_result(*args, folder=tmp_path)
    assert not list(tmp_path.rglob("*.json"))


def test_bad_folder_type():
    with pytest.raises(TypeError, match="folder"):
        results.results_folder(3)


# --- declared records ---------------------------------------------------------------------------

def seq2seq_run(**changes):
    run = {"train_steps": 150, "seconds": 3.0, "test_exact_match": 0.99, "curve_steps": [50],
           "curve_exact_match": [0.99], "steps_to_target": 50, "seconds_to_target": 1.0,
           "parameters": 1000}
    run.update(changes)
    return run


def test_every_record_a_lesson_saves_is_declared_and_checked_on_save(tmp_path):
    good = {"attention": seq2seq_run(), "no attention": seq2seq_run(steps_to_target=None)}
    path = results.save_result("07_advanced", "reversal", good, tmp_path)
    on_disk = json.loads(path.read_text())
    assert on_disk["schema"] == {"type": "Seq2SeqPair", "version": 1}
    (rec,) = results.load_results(tmp_path)
    assert rec.schema == on_disk["schema"] and rec.data == good
    # a lesson that renames a field fails where it saves, naming the field and the schema
    renamed = {"attention": seq2seq_run(), "no attention": seq2seq_run()}
    renamed["no attention"]["exact_match"] = renamed["no attention"].pop("test_exact_match")
    with pytest.raises(results.RecordError, match=r"07_advanced/reversal: data\['no attention'\]: "
                                                  r"missing field 'test_exact_match' \(declared "
                                                  r"by Seq2SeqRun\).*Seq2SeqPair, version 1"):
        results.save_result("07_advanced", "reversal", renamed, tmp_path)
    with pytest.raises(results.RecordError, match=r"missing field 'no attention'"):
        results.save_result("07_advanced", "reversal", {"attention": seq2seq_run()}, tmp_path)
    with pytest.raises(results.RecordError, match=r"data\['attention'\]\['parameters'\]: "
                                                  r"expected int, got str \('1000'\)"):
        results.save_result("07_advanced", "reversal",
                            {**good, "attention": seq2seq_run(parameters="1000")}, tmp_path)
    with pytest.raises(results.RecordError, match=r"data\['attention'\]\['curve_steps'\]\[0\]: "
                                                  r"expected int, got float"):
        results.save_result("07_advanced", "reversal",
                            {**good, "attention": seq2seq_run(curve_steps=[0.5])}, tmp_path)
    # a name no lesson declared
    with pytest.raises(results.RecordError, match=r"name: 07_advanced saves only declared "
                                                  r"records \(reversal, dates.*got 'revresal'"):
        results.save_result("07_advanced", "revresal", good, tmp_path)
    assert [r.data for r in results.load_results(tmp_path)] == [good]  # nothing else written
    # NaN and infinity are floats to the schema, as they are when loaded
    results.save_result("07_advanced", "reversal",
                        {**good, "attention": seq2seq_run(seconds=math.nan)}, tmp_path)


def test_a_train_result_is_checked_against_its_schema(tmp_path):
    r = train.train(lambda: models.SequenceRegressor("rnn", 2, 4, 1),
                    lambda rng: tasks.adding_batch(8, 5, rng), F.mse_loss, steps=3, lr=1e-2,
                    progress=False, config={"cell": "rnn"})
    results.save_result("06_experiments", "sunspots_tanh RNN", r, tmp_path)  # a family member
    data = r.to_dict()
    del data["best_eval"]
    with pytest.raises(results.RecordError, match=r"missing field 'best_eval' \(declared by "
                                                  r"TrainRun\)"):
        results.save_result("06_experiments", "sunspots_GRU", data, tmp_path)


def test_old_version_and_malformed_declared_files_are_skipped_with_the_reason(tmp_path):
    good = {"attention": seq2seq_run(), "no attention": seq2seq_run()}
    path = results.save_result("07_advanced", "reversal", good, tmp_path)
    raw = json.loads(path.read_text())
    folder = path.parent
    old = dict(raw)
    del old["schema"]  # written before records had schemas
    (folder / "dates.json").write_text(json.dumps({**old, "name": "dates"}))
    newer = {**raw, "name": "alignment", "schema": {"type": "Alignment", "version": 99}}
    (folder / "alignment.json").write_text(json.dumps(newer))
    broken = {**raw, "name": "hybrid", "schema": {"type": "Hybrid", "version": 1}}
    (folder / "hybrid.json").write_text(json.dumps(broken))  # reversal's data, not a hybrid's
    with pytest.warns(results.ResultsWarning) as caught:
        loaded = results.load_results(tmp_path)
    assert [r.name for r in loaded] == ["reversal"]
    assert sorted(p.name for p in loaded.skipped) == ["alignment.json", "dates.json",
                                                      "hybrid.json"]
    messages = " | ".join(str(w.message) for w in caught)
    assert "07_advanced/dates was saved before records had schemas; this rnncourse reads " \
           "Seq2SeqPair version 1: run lesson 07_advanced again" in messages
    assert "saved with schema Alignment version 99" in messages
    assert "07_advanced/hybrid: data: missing fields 'gru', 'hybrid', 'speedup_fwd_bwd'" \
        in messages
    with pytest.raises(results.RecordError, match="saved before records had schemas"):
        results.read_record(folder / "dates.json")


def test_free_form_records_of_other_lessons_need_no_schema(tmp_path):
    path = results.save_result("my_experiments", "anything", {"v": 1}, tmp_path)
    assert json.loads(path.read_text())["schema"] is None
    assert results.read_record(path).data == {"v": 1}


def test_lessons_save_only_what_their_schemas_accept():
    """Every lesson's save call site names a declared record (read from the lesson files)."""
    import re

    from rnncourse import records

    lessons = Path(results.__file__).resolve().parent.parent / "notebooks"
    if not lessons.is_dir():
        pytest.skip("no notebooks folder next to the package")
    for lesson in sorted(lessons.glob("0[1-7]_*.py")):
        for name in re.findall(r'save_result\((?:LESSON|"[^"]+"), f?"([^"{]+)', lesson.read_text()):
            assert records.record_type(lesson.stem, name) is not None, (lesson.name, name)
