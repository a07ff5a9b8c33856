"""benchmarks/memory.py: the peak of a process tree is the peak of its sum, children included."""

import subprocess
import sys
import textwrap
import time

import pytest

from benchmarks.memory import TreePeak, tree_memory

MB = 2**20
# A process that holds SIZES[0] MB, starts a child holding the rest (which does the same), says
# "ready" once the whole chain holds its memory, and ends, with its chain, on a line of input.
HOLDER = textwrap.dedent("""
    import subprocess, sys
    sizes = [int(a) for a in sys.argv[1:]]
    block = b"x" * (sizes[0] << 20)
    child = None
    if sizes[1:]:
        child = subprocess.Popen([sys.executable, __file__, *map(str, sizes[1:])],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        child.stdout.readline()
    print("ready", flush=True)
    sys.stdin.readline()
    if child is not None:
        child.communicate(b"\\n")
""")


@pytest.fixture
def tree(tmp_path):
    """A chain of three processes holding 150, 100 and 50 MB."""
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    root = subprocess.Popen([sys.executable, str(script), "150", "100", "50"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert root.stdout.readline().strip() == b"ready"
    yield root
    if root.poll() is None:
        root.kill()
    root.wait()


def _bare_python_rss():
    return 40 * MB  # a Python interpreter with subprocess imported holds well under this


def test_the_peak_counts_every_process_of_the_tree_at_once(tree):
    with TreePeak(tree.pid, interval=0.02) as peak:
        deadline = time.monotonic() + 10
        while peak.samples < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        tree.communicate(b"\n", timeout=30)  # the tree ends while it is sampled
    assert peak.processes_at_peak == 3  # the grandchild too
    assert 300 * MB <= peak.rss_bytes <= 300 * MB + 3 * _bare_python_rss()
    assert 300 * MB <= peak.pss_bytes <= peak.rss_bytes
    # More than any one process held: the peak of the sum, not the largest peak.
    assert peak.rss_bytes > 150 * MB + _bare_python_rss()
    assert tree_memory(tree.pid) == (0, 0, 0)  # the tree has ended; the peak stays
    assert peak.rss_bytes > 0


def test_without_the_root_only_its_descendants_count(tree):
    rss, _, count = tree_memory(tree.pid, include_root=False)
    assert count == 2
    assert 150 * MB <= rss <= 150 * MB + 2 * _bare_python_rss()
    whole, _, _ = tree_memory(tree.pid)
    assert whole - rss >= 150 * MB


@pytest.mark.parametrize("kwargs, match", [({"pid": 0}, "pid"), ({"pid": "1"}, "pid"),
                                           ({"interval": 0}, "interval"),
                                           ({"interval": True}, "interval")])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TreePeak(**kwargs)
