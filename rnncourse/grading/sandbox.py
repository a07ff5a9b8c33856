"""Start a grading kernel fenced in: resource limits, then (on Linux) a Landlock file-system rule
set, then ``exec`` the kernel, which inherits both and cannot lift them.

::

    python -m rnncourse.grading.sandbox --workdir W [--read P ...] [--cpu S] [--file-mb M]
        [--memory-mb M] -- python -m ipykernel_launcher -f CONNECTION_FILE

What the kernel may then do with files: read, and execute, the system's and Python's folders
(``--read``: the interpreter, its packages, the course's package, ``/usr``, ``/etc``, ``/proc``,
...), read and write files in ``/dev`` (``/dev/null``), and read, write, create and delete in
``W`` only. Everything else, such as the gradebook, the submissions folder and the other
students' working copies, it cannot open (``PermissionError``). Landlock needs Linux 5.13 or
later with the Landlock LSM on; where it is missing the kernel runs with the limits only, and
:func:`landlock_abi` says so (the grader reports it). Network access and signals between
processes are not restricted by the rule set (the kernel must talk to the grader over local
TCP); signals are scoped on Landlock ABI 6 and later, so a kernel cannot signal the grader.

Only the standard library is imported here: this runs before the kernel, and its imports are
read before the rules exist.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys

# Landlock (linux/landlock.h): system call numbers are the same on every architecture.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
DEVICES = READ_FILE | WRITE_FILE | READ_DIR | TRUNCATE | IOCTL_DEV


def _handled(abi: int) -> int:
    """Every file-system access right this ABI knows (all denied unless a rule allows it)."""
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM (ABI 1)
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers, 0 where there is none (not Linux, too old,
    turned off)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0),
                                  ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def restrict(workdir: str, read: list[str]) -> int:
    """Allow this process and its children to read ``read`` and to read and write ``workdir``
    only; returns the ABI used (0: nothing restricted, Landlock is missing)."""
    abi = landlock_abi()
    if abi <= 0:
        return 0
    libc = _libc()
    handled = _handled(abi)
    attr = _RulesetAttr(handled, 0, SCOPE_SIGNAL if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16 if abi >= 4 else 8
    fd = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                      ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = [(path, READ) for path in read] + [("/dev", DEVICES), (workdir, handled)]
        for path, rights in rules:
            try:
                path_fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a folder this system does not have
            try:
                if not os.path.isdir(path):  # files take file rights only
                    rights &= EXECUTE | READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV
                rule = _PathBeneath(rights & handled, path_fd)
                if libc.syscall(_ADD_RULE, fd, _RULE_PATH_BENEATH, ctypes.byref(rule),
                                ctypes.c_uint32(0)) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(path_fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_RESTRICT_SELF, fd, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(fd)
    return abi


def set_limits(cpu_s: int | None, file_mb: int | None, memory_mb: int | None) -> None:
    """Hard and soft limits (a kernel cannot raise them again unless it runs as root): CPU
    seconds (then SIGXCPU ends it), the largest file it may write, its address space."""
    for limit, value in ((resource.RLIMIT_CPU, cpu_s),
                         (resource.RLIMIT_FSIZE, file_mb and file_mb * 2**20),
                         (resource.RLIMIT_AS, memory_mb and memory_mb * 2**20)):
        if value:
            resource.setrlimit(limit, (int(value), int(value)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        raise SystemExit("usage: python -m rnncourse.grading.sandbox [options] -- command ...")
    cut = argv.index("--")
    parser = argparse.ArgumentParser(prog="rnncourse.grading.sandbox")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--read", action="append", default=[])
    parser.add_argument("--cpu", type=int)
    parser.add_argument("--file-mb", type=int)
    parser.add_argument("--memory-mb", type=int)
    parser.add_argument("--no-landlock", action="store_true")
    args = parser.parse_args(argv[:cut])
    command = argv[cut + 1:]
    set_limits(args.cpu, args.file_mb, args.memory_mb)
    if not args.no_landlock:
        restrict(os.path.abspath(args.workdir), args.read)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
