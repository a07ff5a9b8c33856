"""A real JupyterHub on 127.0.0.1 serving the course to N students, each their own system user.

What a test class is made of (:class:`Classroom`):

- the proxy, configurable-http-proxy from npm, installed into ``build/hub`` by
  :func:`proxy_command` when it is missing (``npm install --prefix build/hub``);
- N system users ``rnnhub-s1`` ... ``rnnhub-sN`` (``useradd``), their homes mode 700 under a
  temporary folder, removed afterwards with their processes;
- the course as the instructor's git repository (:func:`make_upstream`): the working tree's
  ``HEAD`` (``git archive``) committed on a branch ``course``, no network, that the students'
  nbgitpuller links point at;
- JupyterHub from PyPI with its DummyAuthenticator (one password), the LocalProcessSpawner
  starting each student's ``jupyterhub-singleuser`` (JupyterLab) from the project's ``.venv``
  as that student's user, ``RNNCOURSE_SOLUTIONS=off`` in every student's environment, and a
  service token with the admin role for the test driver (spawning, tokens, server state).

Only root can create users and start servers as them: :func:`why_not_here` says why a machine
cannot run this, in one line.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lab_url import free_port  # tests/lab_url.py (tests/hub/conftest.py puts tests/ on the path)

ROOT = Path(__file__).resolve().parents[2]
PROXY_VERSION = "5.3.0"  # configurable-http-proxy, from npm
PROXY_PREFIX = ROOT / "build" / "hub"
PROXY_BIN = PROXY_PREFIX / "node_modules" / ".bin" / "configurable-http-proxy"
USER_PREFIX = "rnnhub-s"
BRANCH = "course"
LESSON = "notebooks/04_gradient_flow.ipynb"
HUB_START_S = 120
SPAWN_S = 300  # a student's JupyterLab answers in a few seconds on an idle 2-core machine
# JupyterLab user settings of every student: no news popup, no autosave (the test saves when a
# student saves), every cell rendered (LabPage reads every prompt).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def why_not_here() -> str | None:
    """One line saying why this machine cannot run a hub test, or None where it can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ("the hub test creates one system user per student (useradd) and starts their "
                "servers as them: that needs root, and this is not root")
    for tool in ("useradd", "userdel", "git"):
        if shutil.which(tool) is None:
            return f"the hub test needs `{tool}` on PATH; none found"
    if not PROXY_BIN.exists() and shutil.which("npm") is None:
        return ("the hub test needs configurable-http-proxy from npm, and neither "
                f"{PROXY_BIN.relative_to(ROOT)} nor `npm` is here")
    if shutil.which("jupyterhub-singleuser", path=str(Path(sys.executable).parent)) is None:
        return "jupyterhub is not installed in this environment (make setup installs it)"
    return None


def closed_folders() -> list[Path]:
    """Folders on the way to this Python, the .venv and the checkout that others cannot enter.

    The students' servers run this environment's interpreter and packages; a Python installed
    under root's home (pyenv in /root, as on this project's machines) is out of their reach.
    """
    interpreter = Path(sys.executable).resolve()
    wanted = {interpreter, Path(sys.base_prefix).resolve(), Path(sys.prefix), ROOT}
    folders = {parent for path in wanted for parent in path.parents} | {ROOT}
    return sorted(p for p in folders if p.is_dir() and not p.stat().st_mode & 0o001)


def proxy_command() -> list[str]:
    """configurable-http-proxy's command; installed into build/hub from npm when missing."""
    if not PROXY_BIN.exists():
        PROXY_PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(PROXY_PREFIX), "--no-audit",
                        "--no-fund", "--loglevel=error",
                        f"configurable-http-proxy@{PROXY_VERSION}"], check=True, cwd=ROOT)
    return [str(PROXY_BIN)]


def http(method: str, url: str, token: str | None = None, body: dict | None = None,
         timeout: float = 60) -> tuple[int, object]:
    """``(status, parsed JSON or text)``; HTTP errors are returned, not raised."""
    headers = {"Authorization": f"token {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


def git(*args: str, cwd: Path) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="Instructor", GIT_AUTHOR_EMAIL="instructor@example.org",
               GIT_COMMITTER_NAME="Instructor", GIT_COMMITTER_EMAIL="instructor@example.org")
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True)
    return done.stdout


def make_upstream(folder: Path) -> Path:
    """The instructor's repository ``folder/rnncourse``: this working tree's HEAD, one commit."""
    repo = folder / "rnncourse"
    repo.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    git("init", "--quiet", "-b", BRANCH, cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "The course, as the instructor publishes it", cwd=repo)
    for path in [folder, *repo.rglob("*"), repo]:  # every student reads it
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return repo


@dataclass
class Student:
    name: str
    uid: int
    gid: int
    home: Path
    token: str = ""        # an API token of the student's own, issued by the hub
    server_pid: int = 0
    spawn_s: float = 0.0
    record: dict = field(default_factory=dict)  # what the tests measured for this student

    def run_as(self, *command: str) -> subprocess.CompletedProcess:
        """Run ``command`` as this student (their uid and group only), capturing its output."""
        return subprocess.run(list(command), user=self.uid, group=self.gid, extra_groups=[],
                              env={"HOME": str(self.home), "PATH": "/usr/bin:/bin"},
                              cwd="/", capture_output=True, text=True)


def _remove_user(name: str) -> None:
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for pid in _pids_of(uid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(["userdel", "--force", "--remove", name], capture_output=True)


def _pids_of(uid: int) -> list[int]:
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.stat().st_uid == uid:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


HUB_CONFIG = """\
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = {bind_url!r}
c.JupyterHub.hub_bind_url = {hub_bind_url!r}
c.ConfigurableHTTPProxy.api_url = {proxy_api!r}
c.ConfigurableHTTPProxy.command = {proxy_command!r}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = set({students!r})
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = ["--LabApp.news_url=None",
                  "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {environment!r}
c.Spawner.start_timeout = {spawn_s}
c.Spawner.http_timeout = {spawn_s}
c.JupyterHub.services = [{{"name": "class-driver", "api_token": {service_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["class-driver"]}}]
"""


class Classroom:
    """The hub, its proxy and N students; :meth:`start` and :meth:`stop` (always call stop)."""

    def __init__(self, students: int, password: str | None = None):
        if isinstance(students, bool) or not isinstance(students, int) or students < 2:
            raise ValueError(f"students: expected an int >= 2 (isolation needs two), got "
                             f"{students!r}")
        self.count = students
        self.password = password or secrets.token_urlsafe(12)
        self.service_token = secrets.token_hex(24)
        self.base = Path(tempfile.mkdtemp(prefix="rnnhub-"))
        os.chmod(self.base, 0o755)  # students traverse it to their homes and the course
        self.students: list[Student] = []
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.timings: dict[str, float] = {}
        self._opened: dict[Path, int] = {}  # folder -> its mode before the test

    # ------------------------------------------------------------------ set-up

    def start(self) -> None:
        # Let the students enter (not list) the folders above the interpreter for the test's
        # duration; stop() puts the modes back.
        for folder in closed_folders():
            self._opened[folder] = folder.stat().st_mode & 0o7777
            folder.chmod(self._opened[folder] | 0o001)
        t0 = time.monotonic()
        command = proxy_command()
        self.timings["proxy_install_s"] = time.monotonic() - t0
        self.upstream = make_upstream(self.base / "course")
        (self.base / "home").mkdir(mode=0o755)
        for k in range(1, self.count + 1):
            self.students.append(self._add_user(f"{USER_PREFIX}{k}"))
        self._start_hub(command)

    def _add_user(self, name: str) -> Student:
        _remove_user(name)  # left over from a run that was killed
        home = self.base / "home" / name
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell",
                        "/bin/bash", "--user-group", name], check=True, capture_output=True)
        entry = pwd.getpwnam(name)
        os.chmod(home, 0o700)
        student = Student(name, entry.pw_uid, entry.pw_gid, home)
        settings = home / ".jupyter" / "lab" / "user-settings"
        for relative, values in LAB_SETTINGS.items():
            path = settings / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        # The instructor's repository is owned by root: git refuses a repository owned by
        # someone else unless it is named as safe (on a real hub it comes over https).
        (home / ".gitconfig").write_text(f"[safe]\n\tdirectory = {self.upstream}/.git\n")
        subprocess.run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(home)],
                       check=True)
        return student

    def _start_hub(self, proxy_command: list[str]) -> None:
        folder = self.base / "hub"
        folder.mkdir(mode=0o700)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = HUB_CONFIG.format(
            bind_url=f"{self.url}/", hub_bind_url=f"http://127.0.0.1:{free_port()}",
            proxy_api=f"http://127.0.0.1:{free_port()}", proxy_command=proxy_command,
            db_url=f"sqlite:///{folder / 'jupyterhub.sqlite'}",
            cookie_secret=str(folder / "cookie_secret"), password=self.password,
            students=[s.name for s in self.students],
            singleuser=str(Path(sys.executable).parent / "jupyterhub-singleuser"),
            environment={"RNNCOURSE_SOLUTIONS": "off"}, spawn_s=SPAWN_S,
            service_token=self.service_token)
        (folder / "jupyterhub_config.py").write_text(config)
        self.log_path = folder / "jupyterhub.log"
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
        t0 = time.monotonic()
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(folder / "jupyterhub_config.py")],
                cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = t0 + HUB_START_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.process.returncode}:\n"
                                   f"{self.log()[-4000:]}")
            try:
                status, _ = self.api("GET", "users")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyterhub did not answer within {HUB_START_S} s:\n"
                                   f"{self.log()[-4000:]}")
            time.sleep(0.25)
        self.timings["hub_start_s"] = time.monotonic() - t0

    # ------------------------------------------------------------------ the hub's API

    def api(self, method: str, path: str, body: dict | None = None):
        return http(method, f"{self.url}/hub/api/{path}", self.service_token, body)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def spawn_all(self) -> None:
        """Start every student's server at once (as a class logging in at 9:00) and time each.

        A student's spawn time runs from their request to the hub saying the server is ready
        (the hub has seen it answer); their token is issued by the hub in the meantime. The
        requests go out together, one thread each: the hub answers a spawn request only once
        the server is ready or ``slow_spawn_timeout`` (10 s) has passed, so requests sent one
        after another would each start the clock late.
        """
        def request(student):
            start = time.monotonic()
            status, body = self.api("POST", f"users/{student.name}/server")
            return start, status, body, time.monotonic()

        started, ready_at = {}, {}
        with ThreadPoolExecutor(max_workers=len(self.students)) as pool:
            answers = list(pool.map(request, self.students))
        for student, (start, status, body, answered) in zip(self.students, answers):
            assert status in (201, 202), f"spawning {student.name}: {status} {body}"
            started[student.name] = start
            if status == 201:  # ready when the hub answered
                ready_at[student.name] = answered
        for student in self.students:
            status, body = self.api("POST", f"users/{student.name}/tokens",
                                    {"note": "the class test's student token"})
            assert status == 201, f"token for {student.name}: {status} {body}"
            student.token = body["token"]
        pending = list(self.students)
        deadline = time.monotonic() + SPAWN_S
        while pending:
            for student in list(pending):
                status, body = self.api("GET", f"users/{student.name}")
                server = (body or {}).get("servers", {}).get("", {}) if status == 200 else {}
                if server.get("ready"):
                    ready = ready_at.get(student.name, time.monotonic())
                    student.spawn_s = ready - started[student.name]
                    student.server_pid = int(server["state"]["pid"])
                    pending.remove(student)
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {SPAWN_S} s: "
                                   f"{[s.name for s in pending]}\n{self.log()[-4000:]}")
            time.sleep(0.2)

    def user_url(self, student: Student, path: str = "") -> str:
        return f"{self.url}/user/{student.name}/{path}"

    def pull_link(self, urlpath: str = f"lab/tree/rnncourse/{LESSON}") -> str:
        """The nbgitpuller link an instructor hands out (the hub sends each to their server)."""
        query = urllib.parse.urlencode({"repo": str(self.upstream), "branch": BRANCH,
                                        "urlpath": urlpath})
        return f"{self.url}/hub/user-redirect/git-pull?{query}"

    def hub_pids(self) -> dict[str, int]:
        """The hub's process and the proxy's (a child of the hub)."""
        import psutil

        pids = {"hub": self.process.pid}
        for child in psutil.Process(self.process.pid).children():
            try:
                if "configurable-http-proxy" in " ".join(child.cmdline()):
                    pids["proxy"] = child.pid
            except psutil.Error:
                continue
        return pids

    # ------------------------------------------------------------------ tear-down

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                for student in self.students:
                    self.api("DELETE", f"users/{student.name}/server")
            except OSError:
                pass
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for student in self.students:
            _remove_user(student.name)
        shutil.rmtree(self.base, ignore_errors=True)
        for folder, mode in self._opened.items():
            folder.chmod(mode)
