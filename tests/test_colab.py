"""The Colab part of every lesson's first code cell, run against a stand-in `google.colab`."""

import importlib
import json
import sys
import tomllib
import types
from importlib import metadata
from pathlib import Path

import pytest

from rnncourse import colab
from rnncourse.lessons import SOURCE, lesson_sources

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture
def fake_colab(monkeypatch):
    """Stand-in `google.colab` whose widget manager records that it was turned on."""
    calls = []
    google = types.ModuleType("google")
    google_colab = types.ModuleType("google.colab")
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: calls.append("widgets")
    google_colab.output = output
    google.colab = google_colab
    for name, module in [("google", google), ("google.colab", google_colab),
                         ("google.colab.output", output)]:
        monkeypatch.setitem(sys.modules, name, module)
    return calls


@pytest.fixture
def fake_pip(tmp_path, monkeypatch):
    """A `sys.executable` that logs its arguments and fails with pip's words when told to."""
    log = tmp_path / "pip.log"

    def make(fail: bool):
        script = tmp_path / "python"
        body = f"echo \"$@\" >> {log}\n"
        if fail:
            body += "echo 'ERROR: Could not find a version that satisfies the requirement' >&2\n"
            body += "exit 1\n"
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o755)
        monkeypatch.setattr(sys, "executable", str(script))
        return log

    return make


def run_cell(version: str = VERSION) -> dict:
    scope = {"sys": sys}
    exec(colab.bootstrap(version), scope)
    return scope


def test_the_package_version_is_what_the_cell_installs():
    assert metadata.version("rnncourse") == VERSION, "reinstall: pip install --no-deps -e ."
    import rnncourse

    assert rnncourse.__version__ == VERSION


def test_every_lesson_carries_the_same_colab_cell_for_this_release():
    expected = colab.bootstrap(VERSION)
    for source in lesson_sources(SOURCE):
        first_code = source.read_text().split("# %%\n")[1]
        assert expected in first_code, f"{source.name}: its first code cell lacks the Colab part"
    for notebook in sorted(SOURCE.glob("0*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        first_code = next(c for c in cells if c["cell_type"] == "code")
        assert expected.strip() in "".join(first_code["source"]), notebook.name


def test_outside_colab_the_cell_does_nothing(fake_pip):
    log = fake_pip(fail=True)
    scope = run_cell()
    assert "RELEASE" not in scope and not log.exists()


def test_installed_release_is_not_reinstalled_and_results_go_where_colab_shows_them(
        fake_colab, fake_pip, tmp_path, monkeypatch):
    log = fake_pip(fail=True)
    monkeypatch.delenv(colab.RESULTS_ENV, raising=False)
    monkeypatch.setattr(colab, "RESULTS", str(tmp_path / "content" / "rnncourse-results"))
    run_cell()
    assert not log.exists(), "pip ran although this release is installed"
    assert fake_colab == ["widgets"]
    from rnncourse.results import results_folder

    assert results_folder() == tmp_path / "content" / "rnncourse-results"
    assert results_folder().is_dir()


def test_a_results_folder_chosen_by_the_learner_wins(fake_colab, fake_pip, tmp_path,
                                                      monkeypatch):
    fake_pip(fail=True)
    monkeypatch.setenv(colab.RESULTS_ENV, str(tmp_path / "mine"))
    run_cell()
    assert (tmp_path / "mine").is_dir() and fake_colab == ["widgets"]


def test_the_first_lesson_installs_the_matching_tag(fake_colab, fake_pip, tmp_path,
                                                     monkeypatch):
    log = fake_pip(fail=False)
    monkeypatch.setenv(colab.RESULTS_ENV, str(tmp_path / "results"))
    monkeypatch.setitem(sys.modules, "rnncourse.colab", None)  # not installed yet
    # pip "installs" it: the next import finds the package again.
    monkeypatch.setattr(importlib, "invalidate_caches",
                        lambda: sys.modules.__setitem__("rnncourse.colab", colab))
    run_cell()
    assert log.read_text().split() == [
        "-m", "pip", "install", "-q", "rnncourse", "@",
        f"git+https://github.com/rnncourse/rnncourse@v{VERSION}"]
    assert fake_colab == ["widgets"]


def test_a_failed_install_shows_pips_error_and_stops(fake_colab, fake_pip, monkeypatch):
    fake_pip(fail=True)
    monkeypatch.setitem(sys.modules, "rnncourse.colab", None)
    with pytest.raises(RuntimeError, match=r"(?s)could not install rnncourse .*Could not find"):
        run_cell()
    assert fake_colab == []


def test_another_release_in_the_runtime_is_replaced_and_asks_for_a_restart(fake_colab):
    commands = []

    def run(command, **kwargs):
        commands.append(command)
        return types.SimpleNamespace(returncode=0, stderr="")

    with pytest.raises(RuntimeError, match="Restart session"):
        colab.prepare("9.9.9", run=run)
    assert commands[0][-1] == "rnncourse @ git+https://github.com/rnncourse/rnncourse@v9.9.9"
    assert fake_colab == []


def test_a_bad_release_name_is_refused():
    with pytest.raises(ValueError, match="version"):
        colab.requirement("main")
