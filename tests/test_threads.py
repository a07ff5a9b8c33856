import pytest
import torch

from rnncourse.threads import ENV, set_threads


@pytest.fixture(autouse=True)
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_default_is_one_thread(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert set_threads() == 1 == torch.get_num_threads()


def test_environment_variable_wins(monkeypatch):
    monkeypatch.setenv(ENV, "2")
    assert set_threads() == 2 == torch.get_num_threads()


@pytest.mark.parametrize("raw", ["0", "two", "-1"])
def test_bad_environment_value_is_named(monkeypatch, raw):
    monkeypatch.setenv(ENV, raw)
    with pytest.raises(ValueError, match=ENV):
        set_threads()


def test_training_follows_the_environment_unless_told(monkeypatch):
    from rnncourse.train import train

    seen = []

    def make_batch(rng):
        seen.append(torch.get_num_threads())
        return torch.zeros(3, 2, 1), torch.zeros(2, 1)

    def run(**kwargs):
        model = torch.nn.Linear(1, 1)
        train(model, make_batch, lambda out, y: (out[-1] - y).pow(2).mean(), steps=1, lr=0.1,
              progress=False, **kwargs)

    monkeypatch.setenv(ENV, "2")
    run()
    monkeypatch.delenv(ENV)
    run()
    run(threads=2)
    assert seen == [2, 1, 2]
