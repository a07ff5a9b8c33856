"""The rule nbval enforces on the lessons (notebooks/conftest.py): long cells show a bar."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "lesson_conftest", Path(__file__).resolve().parents[1] / "notebooks" / "conftest.py")
rule = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rule)


def test_a_tqdm_widget_or_stderr_bar_counts_as_progress():
    widget = {"output_type": "display_data", "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
        "text/plain": "adding problem runs:   0%|          | 0/9 [00:00<?, ?it/s]"}}
    stderr = {"output_type": "stream", "name": "stderr",
              "text": "train:  40%|####      | 160/400 [00:02<00:03, 70.1it/s]"}
    assert rule.shows_progress([widget]) and rule.shows_progress([stderr])


def test_an_explorer_or_printed_text_is_not_progress():
    explorer = {"output_type": "display_data", "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "y"},
        "text/plain": "VBox(children=(HBox(children=(FloatSlider(value=0.9),)),))"}}
    printed = {"output_type": "stream", "name": "stdout", "text": "LSTM | 0.01 | 3/4 done\n"}
    assert not rule.shows_progress([explorer, printed]) and not rule.shows_progress(None)
