"""Log-mel features of a waveform, written out in numpy (lesson 6's spoken digits).

A waveform ``x`` (N samples at ``sample_rate`` Hz) becomes a sequence of ``T`` feature vectors:

1. :func:`frames`: overlapping windows of ``n_fft`` samples, ``hop`` samples apart, ``(T, n_fft)``;
2. :func:`power_spectrogram`: each frame times a periodic Hann window, its power spectrum
   ``|rfft|^2``, ``(T, n_fft // 2 + 1)``;
3. :func:`mel_filterbank`: ``n_mels`` triangular filters, equally spaced on the mel scale
   (``mel = 2595 log10(1 + f / 700)``, the HTK formula), each 1 at its centre and 0 at its
   neighbours' centres, so that between the first and the last centre they sum to 1;
4. :func:`log_mel`: ``log(power @ filterbank.T + floor)``, ``(T, n_mels)``.

Plus what building the data set needs: :func:`resample` (band-limited, by the FFT),
:func:`trim_silence` and :func:`add_noise` (white noise at a given signal-to-noise ratio).
"""

from __future__ import annotations

import numpy as np

from . import validate

__all__ = ["hz_to_mel", "mel_to_hz", "frames", "hann", "power_spectrogram", "mel_filterbank",
           "log_mel", "resample", "trim_silence", "add_noise", "snr_db"]


def hz_to_mel(f):
    """Hertz to mel (HTK): ``2595 log10(1 + f / 700)``; 1000 Hz is about 1000 mel."""
    f = validate.as_float_array("f", np.asarray(f, dtype=float) if isinstance(f, (int, float))
                                else f)
    if np.any(f < 0):
        raise ValueError(f"f: expected frequencies >= 0 Hz, got a minimum of {f.min()}")
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    """The inverse of :func:`hz_to_mel`."""
    m = validate.as_float_array("m", np.asarray(m, dtype=float) if isinstance(m, (int, float))
                                else m)
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def _signal(name, x):
    x = validate.as_float_array(name, x)
    if x.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D waveform (N samples), got shape {x.shape}")
    return x


def frames(x, n_fft: int, hop: int) -> np.ndarray:
    """Windows of ``n_fft`` samples every ``hop`` samples: ``(T, n_fft)``, ``T = 1 + (N - n_fft)
    // hop`` (the tail that does not fill a window is dropped). A copy, not a view."""
    x = _signal("x", x)
    n_fft = validate.positive_int("n_fft", n_fft, minimum=2)
    hop = validate.positive_int("hop", hop)
    if x.size < n_fft:
        raise ValueError(f"x: expected at least n_fft = {n_fft} samples, got {x.size}")
    T = 1 + (x.size - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(T)[:, None]  # (T, n_fft)
    return x[index]


def hann(n: int) -> np.ndarray:
    """The periodic Hann window of ``n`` samples (``0.5 - 0.5 cos(2 pi k / n)``)."""
    n = validate.positive_int("n", n, minimum=2)
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def power_spectrogram(x, n_fft: int = 256, hop: int = 128) -> np.ndarray:
    """``|rfft(frame * hann)|^2`` of every frame: ``(T, n_fft // 2 + 1)``."""
    f = frames(x, n_fft, hop)  # (T, n_fft)
    spectrum = np.fft.rfft(f * hann(n_fft), axis=1)  # (T, F)
    return spectrum.real ** 2 + spectrum.imag ** 2


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: float, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular filters on the mel scale: ``(n_mels, n_fft // 2 + 1)``.

    Filter ``m`` rises from 0 at centre ``m - 1`` to 1 at centre ``m`` and falls to 0 at centre
    ``m + 1`` (centres ``n_mels + 2`` points equally spaced in mel from ``fmin`` to ``fmax``,
    default the Nyquist frequency), evaluated at the FFT bins' frequencies ``k * sample_rate /
    n_fft``. Every filter must contain at least one bin: too many mels for ``n_fft`` is a
    ValueError.
    """
    n_mels = validate.positive_int("n_mels", n_mels)
    n_fft = validate.positive_int("n_fft", n_fft, minimum=2)
    sample_rate = validate.positive_float("sample_rate", sample_rate)
    nyquist = sample_rate / 2
    fmax = nyquist if fmax is None else validate.positive_float("fmax", fmax)
    fmin = validate.positive_float("fmin", fmin, allow_zero=True)
    if fmax > nyquist:
        raise ValueError(f"fmax: expected at most the Nyquist frequency {nyquist:g} Hz, "
                         f"got {fmax:g}")
    if not fmin < fmax:
        raise ValueError(f"fmin: expected fmin < fmax = {fmax:g} Hz, got {fmin:g}")
    centres = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (M + 2,)
    bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft  # (F,)
    lower, centre, upper = centres[:-2, None], centres[1:-1, None], centres[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    bank = np.clip(np.minimum(rising, falling), 0.0, None)  # (M, F)
    empty = np.flatnonzero(bank.max(axis=1) == 0)
    if empty.size:
        raise ValueError(f"n_mels: expected every filter to cover an FFT bin; with n_fft = "
                         f"{n_fft} at {sample_rate:g} Hz, {empty.size} of {n_mels} filters "
                         f"cover none (fewer mels or a larger n_fft), got n_mels = {n_mels}")
    return bank


def log_mel(x, sample_rate: float, *, n_mels: int = 32, n_fft: int = 256, hop: int = 128,
            fmin: float = 0.0, fmax: float | None = None, floor: float = 1e-6) -> np.ndarray:
    """Log-mel features of a waveform: ``log(power_spectrogram @ bank.T + floor)``,
    ``(T, n_mels)``; ``floor`` (> 0) keeps silence finite."""
    floor = validate.positive_float("floor", floor)
    power = power_spectrogram(x, n_fft, hop)  # (T, F)
    bank = mel_filterbank(n_mels, n_fft, sample_rate, fmin, fmax)  # (M, F)
    return np.log(power @ bank.T + floor)


def resample(x, orig_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling by the FFT: keep (or zero-pad) the spectrum up to the lower
    Nyquist frequency; ``round(N * target_rate / orig_rate)`` samples come back."""
    x = _signal("x", x)
    orig_rate = validate.positive_int("orig_rate", orig_rate)
    target_rate = validate.positive_int("target_rate", target_rate)
    if orig_rate == target_rate:
        return x.copy()
    n_out = int(round(x.size * target_rate / orig_rate))
    if n_out < 2:
        raise ValueError(f"x: expected enough samples to resample, got {x.size}")
    spectrum = np.fft.rfft(x)
    keep = min(spectrum.size, n_out // 2 + 1)
    out = np.zeros(n_out // 2 + 1, dtype=complex)
    out[:keep] = spectrum[:keep]
    return np.fft.irfft(out, n=n_out) * (n_out / x.size)


def trim_silence(x, sample_rate: float, *, threshold_db: float = -35.0,
                 margin: float = 0.05, window: float = 0.02) -> np.ndarray:
    """``x`` without its leading and trailing silence: the span from the first to the last
    ``window``-second block whose RMS is within ``threshold_db`` (< 0) of the loudest block's,
    widened by ``margin`` seconds each side."""
    x = _signal("x", x)
    sample_rate = validate.positive_float("sample_rate", sample_rate)
    if isinstance(threshold_db, bool) or not isinstance(threshold_db, (int, float)) \
            or not threshold_db < 0:
        raise ValueError(f"threshold_db: expected a number < 0 (dB below the loudest block), "
                         f"got {threshold_db!r}")
    margin = validate.positive_float("margin", margin, allow_zero=True)
    size = max(1, int(round(validate.positive_float("window", window) * sample_rate)))
    n = x.size // size
    if n == 0:
        raise ValueError(f"x: expected at least one {window} s block ({size} samples), got "
                         f"{x.size} samples")
    rms = np.sqrt(np.mean(x[: n * size].reshape(n, size) ** 2, axis=1))
    if rms.max() == 0:
        raise ValueError("x: expected some sound, got only zeros")
    loud = np.flatnonzero(20 * np.log10(rms / rms.max() + 1e-12) > threshold_db)
    pad = int(round(margin * sample_rate))
    start = max(0, loud[0] * size - pad)
    stop = min(x.size, (loud[-1] + 1) * size + pad)
    return x[start:stop].copy()


def snr_db(signal, noise) -> float:
    """Signal-to-noise ratio in dB: ``10 log10(mean(signal^2) / mean(noise^2))``."""
    signal, noise = _signal("signal", signal), _signal("noise", noise)
    return float(10 * np.log10(np.mean(signal ** 2) / np.mean(noise ** 2)))


def add_noise(x, snr: float | None, rng) -> np.ndarray:
    """``x`` plus white Gaussian noise scaled to ``snr`` dB (None: ``x`` unchanged, a copy).
    ``rng`` is a ``numpy.random.Generator`` or an int seed."""
    x = _signal("x", x)
    if snr is None:
        return x.copy()
    if isinstance(snr, bool) or not isinstance(snr, (int, float)) or not np.isfinite(snr):
        raise TypeError(f"snr: expected a finite number of dB or None, got {snr!r}")
    rng = validate.generator("rng", rng)
    power = np.mean(x ** 2)
    if power == 0:
        raise ValueError("x: expected some sound to set the noise level by, got only zeros")
    noise = rng.standard_normal(x.size)
    noise *= np.sqrt(power / 10 ** (snr / 10) / np.mean(noise ** 2))
    return x + noise
