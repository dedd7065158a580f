"""The `gastown` command lines the README documents, run as a person would type them.

The commands are read from README.md itself (fenced blocks and inline code), so a form the
README shows that the program refuses — `gastown --demo --engine-only PATH` once failed with
"unrecognized arguments" — fails here. `[PATH]` is tried both left out (the default demo
directory, under a temporary XDG_DATA_HOME) and given (a temporary path). Headless forms run
until the engine is up and then get SIGTERM; app forms run in a terminal on a private tmux
server until the screen is drawn, then quit with `q`. Every one must exit 0 with no
traceback, and the demo forms must really create the demo town and launch its convoy.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from engine.adapters.tmux import socket_name
from engine.demo import demo_plan
from engine.ledger import Ledger
from engine.town import Town, init_town
from tests.cli_support import REPO, gastown_argv, gt_argv, gt_env

README = REPO / "README.md"
EXIT_MARK = "__README_EXIT="


def _segments(text: str) -> list[str]:
    """Shell-ish pieces of README code: fenced lines and inline spans, split on && and ;."""
    pieces: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            pieces.append(line.split(" #", 1)[0])
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    pieces.extend(re.findall(r"`([^`\n]+)`", prose))
    return [seg.strip() for piece in pieces for seg in re.split(r"&&|;", piece) if seg.strip()]


def readme_gastown_forms() -> list[tuple[str, ...]]:
    """Each distinct `gastown ...` command line in the README, as its argument words. The
    host forms (`--host NAME`, a town on a shared ledger) are run by their own test below,
    with the README's whole set-up around them."""
    forms: dict[tuple[str, ...], None] = {}
    for seg in _segments(README.read_text(encoding="utf-8")):
        words = seg.split()
        if words and os.path.basename(words[0]) == "gastown" and "--host" not in words:
            forms[tuple(words[1:])] = None
    return list(forms)


def expand(form: tuple[str, ...], path: str) -> list[list[str]]:
    """`[PATH]` (optional) both left out and given; a bare `PATH` given."""
    if "[PATH]" in form:
        without = [w for w in form if w != "[PATH]"]
        return [without, [path if w == "[PATH]" else w for w in form]]
    return [[path if w == "PATH" else w for w in form]]


FORMS = readme_gastown_forms()


def test_the_readme_documents_the_demo_forms() -> None:
    # guard: the tests below would pass vacuously if the README stopped matching
    assert ("--demo",) in FORMS
    assert ("--demo", "--engine-only", "[PATH]") in FORMS
    assert ("--demo", "[PATH]") in FORMS
    assert ("--engine-only",) in FORMS and () in FORMS


class Place:
    """A private home, a plain town to run `gastown` in, and a demo path, all temporary."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        (self.home / ".local" / "share").mkdir(parents=True)
        self.default_demo = self.home / ".local" / "share" / "gastown-demo"
        self.demo = root / "given-demo"
        self.town = init_town(str(root / "town"))
        env = gt_env(
            {
                "HOME": str(self.home),
                "XDG_DATA_HOME": str(self.home / ".local" / "share"),
                "XDG_CONFIG_HOME": str(self.home / ".config"),
                "SHELL": "/bin/sh",
                "TERM": "xterm-256color",
            }
        )
        self.env = {k: v for k, v in env.items() if not k.startswith("TMUX")}

    def path_for(self, form: tuple[str, ...]) -> str:
        """What a person would give as PATH: a demo path for demo forms, else a town."""
        return str(self.demo) if "--demo" in form else self.town.root

    def demo_town_of(self, argv: list[str]) -> Path:
        return self.demo if str(self.demo) in argv else self.default_demo

    def cleanup(self) -> None:
        for root in (self.demo, self.default_demo, Path(self.town.root)):
            subprocess.run(
                ["tmux", "-L", socket_name(str(root)), "kill-server"],
                capture_output=True,
                timeout=20,
            )


@pytest.fixture
def place(tmp_path: Path):
    p = Place(tmp_path)
    yield p
    p.cleanup()


def _cases(app: bool) -> list[tuple[str, ...]]:
    """The forms that open the app in a terminal (app) or run headless; `--serve` forms
    serve the app to a browser and have their own test."""
    return [f for f in FORMS if ("--engine-only" in f) != app and "--serve" not in f]


def _serve_cases() -> list[tuple[str, ...]]:
    return [f for f in FORMS if "--serve" in f]


def serve_argv(form: tuple[str, ...], town: str, port: int) -> list[str]:
    """A `--serve` form as a person would run it: optional `[...]` parts left out, `~/town`
    the town, and a free port (the README's 8000/8080 may be taken on this machine)."""
    words: list[str] = []
    skip = False
    for w in form:
        if w.startswith("["):
            skip = not w.endswith("]")
            continue
        if skip:
            skip = not w.endswith("]")
            continue
        words.append(town if w in ("~/town", "PATH", "[PATH]") else w)
    if "--port" in words:
        words[words.index("--port") + 1] = str(port)
    else:
        words += ["--port", str(port)]
    return words


def _check_demo_town(root: Path) -> None:
    led = Ledger(Town(str(root)).ledger_target)
    try:
        convoys = led.convoys.list()
        rigs = [r["name"] for r in led.rigs.list()]
    finally:
        led.close()
    assert sorted(rigs) == ["calc", "web"]
    assert convoys and convoys[-1]["progress"]["total"] == len(demo_plan())


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
@pytest.mark.parametrize("form", _cases(app=False), ids=lambda f: " ".join(f) or "(none)")
def test_a_headless_readme_form_runs(place: Place, form: tuple[str, ...]) -> None:
    for argv in expand(form, place.path_for(form)):
        proc = subprocess.Popen(
            [*gastown_argv(), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=place.env,
            cwd=place.town.root,  # plain forms find the town from the current directory
            start_new_session=True,
        )
        assert proc.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                seen.append(line)
                if "engine started" in line:
                    break
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                rest, _ = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                rest, _ = proc.communicate()
        out = "".join(seen) + (rest or "")
        assert any("engine started" in ln for ln in seen), (argv, out)
        assert proc.returncode == 0, (argv, out)
        assert "Traceback" not in out and "unrecognized" not in out, (argv, out)
        if "--demo" in argv:
            assert "Launched demo convoy" in out or "Using the demo town" in out, out
            _check_demo_town(place.demo_town_of(argv))


def test_the_readme_documents_serve_forms() -> None:
    assert ("--serve",) in FORMS and any("--demo" in f for f in _serve_cases())


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
@pytest.mark.parametrize("form", _serve_cases(), ids=lambda f: " ".join(f))
def test_a_serve_readme_form_serves_and_stops_on_ctrl_c(
    place: Place, form: tuple[str, ...]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    town = str(place.demo) if "--demo" in form else place.town.root
    argv = serve_argv(form, town, port)
    proc = subprocess.Popen(
        [*gastown_argv(), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=place.env,
        cwd=place.town.root,  # `gastown --serve` finds the town from here
        start_new_session=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "gastown: serving" in line:
                break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rest, _ = proc.communicate()
    out = "".join(seen) + (rest or "")
    assert any(f":{port}" in ln and "gastown: serving" in ln for ln in seen), (argv, out)
    assert proc.returncode == 0, (argv, out)
    assert "Traceback" not in out, (argv, out)
    if "0.0.0.0" in argv:
        assert "warning" in out.lower(), out  # anyone who reaches the port drives the town


class Terminal:
    """One tmux pane on a private server, as in the demo-in-tmux test."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"gt-readme-{uuid.uuid4().hex[:10]}"
        self.env = env

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            text=True,
            capture_output=True,
            check=check,
            timeout=20,
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", "app:0.0").stdout

    def wait(self, what: str, needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if needle in screen or "Traceback" in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
@pytest.mark.parametrize("form", _cases(app=True), ids=lambda f: " ".join(f) or "(none)")
def test_an_app_readme_form_opens_and_quits(place: Place, form: tuple[str, ...]) -> None:
    for argv in expand(form, place.path_for(form)):
        term = Terminal(place.env)
        cmd = shlex.join([*gastown_argv(), *argv])
        try:
            term.tmux(
                "new-session", "-d", "-s", "app", "-x", "160", "-y", "45",
                "-c", place.town.root, "--",
                "/bin/sh", "-c", f'{cmd}; echo "{EXIT_MARK}$?"; exec sleep 600',
            )  # fmt: skip
            screen = term.wait("the app's screen", " q Quit")
            assert "Traceback" not in screen, screen
            term.tmux("send-keys", "-t", "app:0.0", "q")
            screen = term.wait("the app to exit", EXIT_MARK)
        finally:
            term.tmux("kill-server", check=False)
        assert f"{EXIT_MARK}0" in screen, (argv, screen)
        assert "Traceback" not in screen and "unrecognized" not in screen, screen
        if "--demo" in argv:
            _check_demo_town(place.demo_town_of(argv))


def across_machines_setup() -> list[str]:
    """The README's set-up block for "A town across machines", line by line (comment lines
    kept: "# machine …" starts another machine)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## A town across machines", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block, "the section shows its set-up commands"
    lines = [ln.strip() for ln in block.group(1).splitlines() if ln.strip()]
    return [ln if ln.startswith("#") else ln.split(" #", 1)[0].strip() for ln in lines]


@pytest.mark.slow
def test_the_readmes_town_across_machines_setup_runs(tmp_path: Path, pg_url: str) -> None:
    """Run as the README writes it, with this machine standing in for several: the test's
    database for `db.example`'s, a bare repository for the git URL, a temporary home."""
    from engine.adapters.tmux import Tmux
    from engine.polecats import proctree
    from tests.conftest import make_source_repo

    lines = across_machines_setup()
    commands = [ln for ln in lines if not ln.startswith("#")]
    assert any("--host box1" in ln for ln in commands)
    assert any("--host box2" in ln for ln in commands)
    assert sum(1 for ln in lines if ln.startswith("# machine")) == 2, lines
    machines = 0
    home = tmp_path
    env = gt_env({"HOME": str(home), "SHELL": "/bin/sh"})
    bare = tmp_path / "web.git"
    src = make_source_repo(tmp_path / "src")
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(bare)], check=True)
    url = re.search(r"postgresql://\S+", " ".join(commands))
    assert url, lines
    engines: list[subprocess.Popen[str]] = []
    towns: list[str] = []
    try:
        for line in lines:
            if line.startswith("# machine"):  # another machine: its own home
                machines += 1
                home = tmp_path / f"machine{machines}"
                home.mkdir()
                env = gt_env({"HOME": str(home), "SHELL": "/bin/sh"})
                continue
            if line.startswith("#"):
                continue
            line = line.replace(url.group(0), pg_url).replace(
                "git@github.com:me/web.git", str(bare)
            )
            words = [os.path.expanduser(w) if w.startswith("~") else w for w in shlex.split(line)]
            words = [w.replace(str(Path.home()), str(home)) for w in words]
            if words[0] == "createdb":
                continue  # the test's database is already made, empty
            if words[0] == "gt" and "init" in words:
                towns.append(words[words.index("init") + 1])
            if words[-1] == "&":
                words = words[:-1]
            if words[0] == "gastown":
                engines.append(
                    subprocess.Popen(
                        [*gastown_argv(), *words[1:]],
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                        start_new_session=True,
                    )
                )
                continue
            done = subprocess.run(
                gt_argv(*words[1:]), env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, (line, done.stderr)
        first = Town(towns[0])
        with first.open_ledger() as ledger:
            deadline = time.monotonic() + 60
            while len(ledger.hosts.live()) < 2:
                assert time.monotonic() < deadline, [e.poll() for e in engines]
                time.sleep(0.2)
            assert {h["name"] for h in ledger.hosts.live()} == {"box1", "box2"}
        hosts = subprocess.run(
            gt_argv("hosts", town=towns[1]), env=env, capture_output=True, text=True
        )
        assert "box1" in hosts.stdout and "box2" in hosts.stdout, hosts.stderr
        # each host has its own clone of the rig, made on joining
        for town in towns:
            assert (Path(town) / "rigs" / "web" / "repo" / ".git").exists(), town
    finally:
        for e in engines:
            if e.poll() is None:
                os.killpg(e.pid, signal.SIGTERM)
                try:
                    e.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(e.pid, signal.SIGKILL)
                    e.wait(10)
        for town in towns:
            Tmux(socket_name(os.path.abspath(town))).kill_server()
            proctree.terminate(proctree.with_env({"GT_TOWN": os.path.abspath(town)}), grace=1.0)
