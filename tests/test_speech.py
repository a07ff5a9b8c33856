"""The spoken digits: the log-mel code (rnncourse.audio), the shipped file and its loader
(rnncourse.speech), and that the build script (rnncourse.speech_synth) reproduces the file."""

import json

import numpy as np
import pytest
import torch

from rnncourse import audio, speech, speech_synth
from rnncourse.data import data_path

# --- the feature code --------------------------------------------------------------------------


def test_mel_scale_round_trip_and_anchor():
    f = np.array([0.0, 100.0, 1000.0, 3999.0])
    assert np.allclose(audio.mel_to_hz(audio.hz_to_mel(f)), f)
    assert abs(float(audio.hz_to_mel(1000.0)) - 1000) < 1  # the scale's anchor
    assert np.all(np.diff(audio.hz_to_mel(f)) > 0)


def test_mel_filterbank_triangles_sum_to_one_between_the_end_centres():
    M, n_fft, rate = 20, 512, 16000
    bank = audio.mel_filterbank(M, n_fft, rate, fmin=100.0, fmax=7000.0)
    assert bank.shape == (M, n_fft // 2 + 1)
    assert np.all(bank >= 0) and np.all(bank <= 1)
    centres = audio.mel_to_hz(np.linspace(audio.hz_to_mel(100.0), audio.hz_to_mel(7000.0),
                                          M + 2))
    bins = np.arange(n_fft // 2 + 1) * rate / n_fft
    inside = (bins >= centres[1]) & (bins <= centres[M])
    assert np.allclose(bank[:, inside].sum(axis=0), 1.0)  # partition of unity
    assert np.all(bank[:, bins < centres[0]] == 0) and np.all(bank[:, bins > centres[-1]] == 0)
    peaks = bins[bank.argmax(axis=1)]  # each filter peaks at the bin nearest its centre
    assert np.all(np.abs(peaks - centres[1:-1]) <= rate / n_fft)
    widths = (bank > 0).sum(axis=1)
    assert widths[-1] > widths[0]  # wider at high frequencies, as the mel scale says


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(n_mels=128, n_fft=64, sample_rate=8000), ValueError, "n_mels"),
    (dict(n_mels=10, n_fft=256, sample_rate=8000, fmax=5000.0), ValueError, "fmax"),
    (dict(n_mels=10, n_fft=256, sample_rate=8000, fmin=3000.0, fmax=2000.0), ValueError, "fmin"),
    (dict(n_mels=10.0, n_fft=256, sample_rate=8000), TypeError, "n_mels"),
    (dict(n_mels=10, n_fft=256, sample_rate=-1), ValueError, "sample_rate"),
])
def test_mel_filterbank_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        audio.mel_filterbank(**kwargs)


def test_frames_and_power_spectrogram():
    x = np.arange(1000, dtype=float)
    f = audio.frames(x, 256, 100)
    assert f.shape == (1 + (1000 - 256) // 100, 256)
    assert np.array_equal(f[3], x[300:556])
    rate, n_fft = 8000, 256
    k = 20  # a tone exactly on bin 20
    tone = np.sin(2 * np.pi * k * rate / n_fft * np.arange(2000) / rate)
    power = audio.power_spectrogram(tone, n_fft, 128)
    assert power.shape == (1 + (2000 - n_fft) // 128, n_fft // 2 + 1)
    assert np.all(power.argmax(axis=1) == k)


@pytest.mark.parametrize("x, error, words", [
    (np.zeros(100), ValueError, "at least n_fft"),
    (np.zeros((2, 500)), ValueError, "1-D"),
    (np.zeros(500, dtype=int), TypeError, "floating"),
    ([0.0] * 500 + [np.nan], ValueError, "finite"),
])
def test_frames_bad_input(x, error, words):
    with pytest.raises(error, match=words):
        audio.frames(x, 256, 128)


def test_log_mel_of_a_tone_peaks_in_the_filter_around_it():
    rate = 8000
    tone = np.sin(2 * np.pi * 1000 * np.arange(4000) / rate)
    feats = audio.log_mel(tone, rate, n_mels=32, n_fft=256, hop=128, fmin=60.0, fmax=3800.0)
    assert feats.shape == (1 + (4000 - 256) // 128, 32)
    centres = audio.mel_to_hz(np.linspace(audio.hz_to_mel(60.0), audio.hz_to_mel(3800.0), 34))
    assert np.all(feats.argmax(axis=1) == np.abs(centres[1:-1] - 1000).argmin())
    silent = audio.log_mel(np.zeros(1000), rate, floor=1e-4)
    assert np.allclose(silent, np.log(1e-4))
    with pytest.raises(ValueError, match="floor"):
        audio.log_mel(tone, rate, floor=0.0)


def test_resample_keeps_the_frequency():
    x = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)  # one second at 22.05 kHz
    y = audio.resample(x, 22050, 8000)
    assert y.size == 8000
    assert abs(np.abs(np.fft.rfft(y)).argmax() - 440) <= 1  # 1 Hz bins over one second
    assert abs(np.sqrt(np.mean(y ** 2)) - np.sqrt(0.5)) < 0.01
    with pytest.raises(TypeError, match="orig_rate"):
        audio.resample(x, 22050.0, 8000)


def test_add_noise_sets_the_snr_and_trim_finds_the_sound():
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(4000) / 3)
    noisy = audio.add_noise(x, 10.0, rng)
    assert abs(audio.snr_db(x, noisy - x) - 10.0) < 1e-9
    assert np.array_equal(audio.add_noise(x, None, 0), x)
    assert np.array_equal(audio.add_noise(x, 5.0, 7), audio.add_noise(x, 5.0, 7))  # seeded
    with pytest.raises(TypeError, match="snr"):
        audio.add_noise(x, "loud", 0)
    with pytest.raises(ValueError, match="zeros"):
        audio.add_noise(np.zeros(10), 5.0, 0)
    padded = np.concatenate([np.zeros(8000), x, np.zeros(8000)])  # at 8 kHz: 1 s either side
    trimmed = audio.trim_silence(padded, 8000, margin=0.05)
    assert abs(trimmed.size - (x.size + 2 * 400)) <= 160  # the sound, 50 ms each side
    with pytest.raises(ValueError, match="threshold_db"):
        audio.trim_silence(padded, 8000, threshold_db=3.0)


# --- the shipped file and the loader ---------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return speech.load_speech_digits()


def test_shipped_file_schema(digits):
    assert data_path(speech.FILENAME).stat().st_size <= 5e6
    n = len(speech_synth.utterances())
    assert len(digits) == n == 3060
    assert all(f.dtype == np.float32 and f.ndim == 2 and f.shape[1] == 32 and len(f) >= 5
               for f in digits.features)
    assert set(digits.digit) == set(range(10)) and np.all(np.bincount(digits.digit) == n // 10)
    assert np.all(np.isfinite(np.concatenate(digits.features)))
    assert set(np.unique(digits.snr_db)) == {5.0, 10.0, 20.0, np.inf}
    meta = digits.metadata
    assert meta["features"] == json.loads(json.dumps(speech_synth.FEATURES))
    assert set(meta["synthesisers"]) == {"espeak-ng", "flite"}
    assert "GPL-3" in meta["licences"]["espeak-ng"] and "BSD" in meta["licences"]["flite"]
    assert [v["name"] for v in digits.voices] == [v.name for v in speech_synth.VOICES]


def test_splits_are_disjoint_by_voice(digits):
    voices = {s: set(digits.voice[digits.indices(s)]) for s in speech.SPLITS}
    assert not voices["train"] & voices["validation"]
    assert not voices["train"] & voices["test"] and not voices["validation"] & voices["test"]
    assert sum(len(v) for v in voices.values()) == len(digits.voices)
    assert sorted(np.concatenate([digits.indices(s) for s in speech.SPLITS])) == \
        list(range(len(digits)))
    train = [v for v in digits.voices if v["split"] == "train"]
    for split in ("validation", "test"):  # neither an accent nor a variant was heard in training
        for v in (v for v in digits.voices if v["split"] == split):
            assert all(v["voice"] != t["voice"] for t in train)
            assert v["synth"] == "flite" or all(v["variant"] != t["variant"] for t in train
                                                 if t["synth"] == "espeak-ng")
    for s in speech.SPLITS:  # every split says every digit equally often
        counts = np.bincount(digits.digit[digits.indices(s)], minlength=10)
        assert counts.min() == counts.max() > 0
    with pytest.raises(ValueError, match="split"):
        digits.indices("dev")


def test_loader_names_what_a_bad_file_lacks(tmp_path, digits):
    path = tmp_path / "bad.npz"
    np.savez(path, features=np.zeros((4, 32), np.float16), offsets=np.array([0, 4]))
    with pytest.raises(ValueError, match="digit"):
        speech.load_speech_digits(path)
    meta = json.dumps({"voices": [{"name": "x", "split": "train"}]})
    good = dict(features=np.zeros((4, 32), np.float16), digit=np.array([1], np.int8),
                voice=np.array([0], np.int16), speed=np.array([0], np.int8),
                pitch=np.array([0], np.int8), snr_db=np.array([np.inf], np.float32),
                metadata=np.array(meta))
    np.savez(path, offsets=np.array([0, 3]), **good)
    with pytest.raises(ValueError, match="offsets"):
        speech.load_speech_digits(path)
    np.savez(path, offsets=np.array([0, 4]), **good)
    assert len(speech.load_speech_digits(path)) == 1


def test_pad_pool_and_mean():
    a, b = np.ones((3, 2)), 2 * np.ones((5, 2))
    x = speech.pad([a, b])
    assert x.shape == (5, 2, 2) and x.dtype == torch.float32
    assert torch.all(x[:2, 0] == 0) and torch.all(x[2:, 0] == 1) and torch.all(x[:, 1] == 2)
    assert speech.pad([a], 4).shape == (4, 1, 2)
    with pytest.raises(ValueError, match="length"):
        speech.pad([b], 4)
    with pytest.raises(ValueError, match="features"):
        speech.pad([a, np.ones((3, 3))])
    s = np.arange(10.0).reshape(5, 2)
    assert np.array_equal(speech.pool_frames(s, 2), [[1, 2], [5, 6], [8, 9]])
    assert np.array_equal(speech.mean_features([s]), [[4.0, 5.0]])
    with pytest.raises(ValueError, match="T >= 1"):
        speech.mean_features([np.zeros((0, 2))])


def test_baselines_on_separable_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.normal(size=(60, 4)) * 0.1 + np.eye(4)[y] * 3
    model = speech.fit_logistic(X, y, num_classes=3)
    assert speech.accuracy(model, torch.tensor(X, dtype=torch.float32), y) == 1.0
    assert speech.majority_accuracy(np.array([0, 1, 1]), np.array([1, 1, 0, 2])) == 0.5
    with pytest.raises(ValueError, match="labels"):
        speech.fit_logistic(X, y[:-1])
    with pytest.raises(TypeError, match="int labels"):
        speech.majority_accuracy(np.array([0.0, 1.0]), np.array([1]))


def test_gru_run_keeps_the_best_validation_state_and_frame_confidence_ends_in_its_answer():
    rng = np.random.default_rng(1)
    y = np.arange(40) % 10
    seqs = [rng.normal(size=(4 + i % 3, 5)) + y[i] / 3 for i in range(40)]
    run = speech.gru_run(seqs[:30], y[:30], seqs[30:], y[30:], lr=1e-2, steps=20,
                         hidden_size=8, batch=8, eval_every=5)
    assert run.best_validation == max(a for _, a in run.result.evals)
    assert speech.accuracy(run.model, speech.pad(seqs[30:]), y[30:]) == run.best_validation
    conf = speech.frame_confidence(run.model, seqs[30])
    assert conf.shape == (len(seqs[30]), 10) and np.allclose(conf.sum(axis=1), 1, atol=1e-6)
    with torch.no_grad():
        last = torch.softmax(run.model(torch.tensor(seqs[30], dtype=torch.float32)[:, None]), -1)
    assert np.allclose(conf[-1], last[0].numpy(), atol=1e-6)
    by_share = speech.accuracy_by_share(run.model, seqs[30:], y[30:], (0.01, 0.5, 1.0))
    assert by_share[1.0] == pytest.approx(run.best_validation)  # the whole utterance: accuracy()
    T = max(len(s) for s in seqs[30:])

    def answer_after(s, k):  # the prefix, behind the zeros that pad it in the batch
        x = speech.pad([s[:k]], length=T - len(s) + k)
        with torch.no_grad():
            return int(run.model.eval()(x).argmax())

    for share in (0.01, 0.5):
        answers = [answer_after(s, max(1, int(np.ceil(share * len(s))))) for s in seqs[30:]]
        assert by_share[share] == pytest.approx(np.mean(np.array(answers) == y[30:]))
    with pytest.raises(ValueError, match="shares"):
        speech.accuracy_by_share(run.model, seqs[30:], y[30:], (0.5, 1.5))


# --- the build script reproduces the shipped features ----------------------------------------

SAMPLE = (0, 95, 1700, 2250, 2800, 3059)  # espeak-ng and flite voices of every split


def test_regenerated_sample_matches_the_shipped_features(digits):
    missing = speech_synth.missing_synthesisers()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install espeak-ng flite): the "
                    f"shipped features cannot be regenerated here")
    recorded = digits.metadata["synthesisers"]
    installed = speech_synth.synthesiser_versions()
    if installed != recorded:
        pytest.skip(f"other synthesiser versions than the file was made with: installed "
                    f"{installed}, recorded {recorded}")
    items = speech_synth.utterances()
    for i in SAMPLE:
        utt = items[i]
        assert (utt.digit, utt.voice) == (digits.digit[i], digits.voice[i])
        regenerated = speech_synth.quantise(speech_synth.utterance_features(utt))
        shipped = digits.features[i]
        assert regenerated.shape == shipped.shape, digits.voices[utt.voice]["name"]
        diff = np.abs(regenerated.astype(np.float64) - shipped)
        assert diff.max() <= speech_synth.FEATURES["resolution"]  # at most one rounding step
        assert np.mean(diff == 0) > 0.99
