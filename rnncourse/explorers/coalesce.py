"""Coalescing an explorer's updates: a burst of changes from the browser redraws once, at the end.

A learner holding an arrow key sends a slider value per key press. Redrawing for each one queues
the redraws (and the figures the browser must render) behind each other, and the figure falls
seconds behind the slider. :class:`Coalescer` redraws only for the latest values instead:

- a change made **from code** (``slider.value = v`` in a lesson or a test) redraws at once,
  before the assignment returns, so a cell can read the result on the next line;
- a change **from the browser** (ipywidgets applies it while the widget's property lock is
  held) only marks the explorer stale and schedules one redraw on the kernel's event loop,
  ``delay`` seconds later. Changes arriving meanwhile are folded into that redraw, which reads
  the controls' current values: stale values are never computed. During an endless stream of
  changes a redraw still happens at least every ``max_wait`` seconds.
- :meth:`Coalescer.flush` runs a pending redraw now (tests, benchmarks).

It also sets ``continuous_update = False`` on every slider it watches. With continuous updates
an ipywidgets slider sends back every value it is *given*, rounded through its own
floating-point step arithmetic (4.0 comes back as 4.000000000000002); a cell that sets a value
and then resets it would have the stale echo arrive after the reset and win (lesson 3's explorer
showed a forget-bias shift of +4.0 after Run All, though the cell had reset it to 0). Without
continuous updates a slider sends only what the learner does: each arrow-key press, and a drag
when it ends.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable, Iterable

__all__ = ["Coalescer", "DELAY_S", "MAX_WAIT_S", "replay_burst", "run_on_own_loop"]

DELAY_S = 0.05     # quiet time after the last change from the browser before redrawing
MAX_WAIT_S = 0.4   # during a long burst, redraw at least this often


def _from_browser(change) -> bool:
    """True for a change ipywidgets applied from a front-end message (its property lock held)."""
    owner = change.get("owner") if isinstance(change, dict) else None
    return bool(getattr(owner, "_property_lock", None))


class Coalescer:
    """``Coalescer(redraw, controls)``: call ``redraw()`` for the controls' latest values only.

    ``redraw`` takes no arguments and reads the controls itself. ``controls`` are widgets whose
    ``value`` is observed (more can be routed through :meth:`request`, which is an observer).
    Counters: ``requests`` (changes seen), ``redraws`` (redraws run); ``last_request`` and
    ``last_redraw_done`` are ``time.perf_counter()`` stamps, ``catch_up_s`` the time from the
    last change to the end of the redraw that showed it; ``error`` the last exception a deferred
    redraw raised (it is also printed, as ipywidgets prints an observer's error).
    """

    def __init__(self, redraw: Callable[[], None], controls: Iterable = (), *,
                 delay: float = DELAY_S, max_wait: float = MAX_WAIT_S):
        if not callable(redraw):
            raise TypeError(f"redraw: expected a callable, got {type(redraw).__name__}")
        for name, value in (("delay", delay), ("max_wait", max_wait)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name}: expected a number of seconds >= 0, got {value!r}")
        self._redraw, self.delay, self.max_wait = redraw, float(delay), float(max_wait)
        self.requests = self.redraws = 0
        self.last_request = self.last_redraw_done = self.catch_up_s = None
        self.error: BaseException | None = None
        self._pending_since: float | None = None
        self._handle = None
        for control in controls:
            if hasattr(control, "continuous_update"):
                control.continuous_update = False
            control.observe(self.request, names="value")

    @property
    def pending(self) -> bool:
        """True while changes from the browser wait for their redraw."""
        return self._pending_since is not None

    def request(self, change=None) -> None:
        """Observer: redraw now for a change from code, soon for a change from the browser."""
        self.requests += 1
        self.last_request = time.perf_counter()
        if not _from_browser(change):
            self.redraw_now()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a plain script): nothing to coalesce with
            self.redraw_now()
            return
        if self._pending_since is None:
            self._pending_since = self.last_request
        wait = min(self.delay, self._pending_since + self.max_wait - self.last_request)
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_later(max(0.0, wait), self._deferred)

    def flush(self) -> None:
        """Run a pending redraw now; nothing when none is pending."""
        if self.pending:
            self.redraw_now()

    def redraw_now(self) -> None:
        """Redraw for the current values at once (a pending redraw is folded into this one)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._pending_since = None
        asked = self.last_request
        self._redraw()
        self.redraws += 1
        self.last_redraw_done = time.perf_counter()
        if asked is not None:
            self.catch_up_s = self.last_redraw_done - asked

    def _deferred(self) -> None:
        self._handle = None
        if not self.pending:
            return
        try:
            self.redraw_now()
        except Exception as err:  # shown like an observer's error; the explorer stays usable
            self.error = err
            traceback.print_exc()


def replay_burst(control, values, coalescer: Coalescer, *, interval: float = 0.03) -> float:
    """Seconds from the last of ``values`` to the redraw that shows it, as a browser sends them.

    Replays ``values`` as front-end messages (``control.set_state``, under the property lock,
    exactly as ipywidgets applies a message) arriving every ``interval`` seconds on an event
    loop, the way the kernel receives key presses: a message is handled when it has arrived and
    the previous one is done. Returns the time from the last message's arrival to the end of the
    redraw that showed it. Runs on an event loop of its own (on another thread where this
    thread's loop is already running: :func:`run_on_own_loop`).
    """
    values = list(values)
    coalescer.error = None
    if not values:
        raise ValueError("values: expected at least one value, got none")
    key = "index" if hasattr(control, "index") and hasattr(control, "options") else "value"

    async def burst() -> float:
        start = time.perf_counter()
        for k, value in enumerate(values):
            arrival = start + k * interval
            now = time.perf_counter()
            if now < arrival:
                await asyncio.sleep(arrival - now)
            state = list(control._options_values).index(value) if key == "index" else value
            control.set_state({key: state})
            await asyncio.sleep(0)
        last = start + (len(values) - 1) * interval
        while coalescer.pending:
            await asyncio.sleep(0.001)
        if coalescer.error is not None:
            raise RuntimeError(f"the redraw failed: {coalescer.error!r}") from coalescer.error
        return coalescer.last_redraw_done - last

    return run_on_own_loop(burst)


def run_on_own_loop(make_coroutine):
    """``asyncio.run(make_coroutine())``, on a thread of its own when this thread's event loop
    is already running (inside a kernel, or after Playwright's sync API in the same process)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    import threading

    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(make_coroutine())
        except BaseException as err:  # handed back to the caller's thread below
            outcome["error"] = err

    thread = threading.Thread(target=target, name="rnncourse-replay")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

