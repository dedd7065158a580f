"""One refinery per rig across hosts, with real git: a bare repository is the rig's
upstream, two town directories are two hosts sharing one ledger. Work made on one host
lands through the refinery of the other; two refineries never both land; a holder that
dies mid-landing is taken over without landing twice or losing anything; a push refused
because upstream main moved is tested again on the new tip."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine import upstream
from engine.commands import done as done_cmd
from engine.config import TownConfig
from engine.ledger import Ledger
from engine.polecats import worktrees
from engine.refinery.lease import LeaseLost, RefineryLease, holder_name
from engine.refinery.refinery import Refinery
from engine.rig_setup import add_rig
from engine.scheduler.names import next_name
from engine.town import Town, init_town
from tests.conftest import git_out, make_source_repo

CONFIG = TownConfig.model_validate({"rigs": {"web": {"gates": {"test": "true"}}}})


class Hosts:
    """Host A added the rig (from the bare upstream); host B joined and cloned it."""

    def __init__(self, root: Path, target: str) -> None:
        src = make_source_repo(root / "src", {"README.md": "# demo\n"})
        self.up = str(root / "up.git")
        subprocess.run(["git", "clone", "-q", "--bare", str(src), self.up], check=True)
        self.target = target
        self.a = init_town(str(root / "a"))
        self.b = init_town(str(root / "b"))
        self.ledgers: list[Ledger] = []
        ledger = self.ledger()
        add_rig(self.a, ledger, "web", self.up, prefix="gt", capabilities=[], gates=[])
        rig = ledger.rigs.require("web")
        self.main = git_out(upstream.local_clone(self.a, "web"), "config", "gastown.main")
        for town in (self.a, self.b):  # what the hosts helper calls when a host joins
            upstream.ensure_local_clone(town, rig)

    def ledger(self) -> Ledger:
        ledger = Ledger(self.target)
        self.ledgers.append(ledger)
        return ledger

    def repo(self, town: Town) -> str:
        return upstream.local_clone(town, "web")

    def refinery(self, town: Town, seconds: float = 30.0) -> Refinery:
        ledger = self.ledger()
        lease = RefineryLease(ledger, "web", holder_name(town), seconds)
        return Refinery(town, ledger, "web", CONFIG, lease=lease)

    def submit(self, town: Town, title: str, files: dict[str, str]) -> tuple[str, str]:
        """A polecat of TOWN works a bead in a real worktree and runs `gt done`."""
        ledger = self.ledger()
        bead = ledger.beads.create(title, rig="web", slung=True)["id"]
        with ledger.transaction():
            agent = ledger.agents.allocate("web", next_name(ledger.agents.live_names()), "script")
            attempt = ledger.agents.assign(agent, bead, rig="web")
        ledger.agents.mark_started(agent["id"], bead, attempt)
        wt, _ = worktrees.ensure(
            self.repo(town), os.path.join(town.rig_dir("web"), "polecats"), agent["name"], bead
        )
        for name, text in files.items():
            Path(wt, name).write_text(text)
        git_out(wt, "add", "-A")
        git_out(wt, "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-q", "-m", title)
        req = done_cmd.DoneRequest(agent["id"], bead, attempt, worktree=wt)
        result = done_cmd.done(ledger, req)
        assert result.merge_request
        return bead, result.merge_request

    def upstream_log(self) -> list[str]:
        return git_out(self.up, "log", "--first-parent", "--format=%s", self.main).splitlines()

    def landings_of(self, mr: str) -> int:
        return sum(mr in line.replace(",", " ").split() for line in self.upstream_log())

    def close(self) -> None:
        for ledger in self.ledgers:
            ledger.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def hosts(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        target = str(tmp_path / "shared-ledger.db")
    else:
        target = request.getfixturevalue("pg_url")
    Ledger(target, create=True).close()
    made = Hosts(tmp_path, target)
    yield made
    made.close()


def state(h: Hosts, mr: str) -> str:
    return h.ledger().mq.require(mr)["state"]


def test_a_branch_made_on_host_a_lands_through_the_refinery_on_host_b(hosts: Hosts) -> None:
    h = hosts
    bead, mr = h.submit(h.a, "feature", {"f.txt": "from host A\n"})
    assert git_out(h.up, "rev-parse", f"refs/heads/{h.ledger().mq.require(mr)['branch']}")
    on_b = h.refinery(h.b)
    assert on_b.process_once() is True
    assert state(h, mr) == "landed"
    assert h.ledger().beads.require(bead)["status"] == "closed"
    assert h.landings_of(mr) == 1  # the upstream has it
    landed = h.ledger().mq.require(mr)["merged_commit"]
    # host A's clone sees it once it starts new work (fetched before every new worktree)
    _, mr2 = h.submit(h.a, "second", {"g.txt": "later\n"})
    assert git_out(h.repo(h.a), "rev-parse", f"refs/heads/{h.main}") == landed
    wt = h.ledger().mq.require(mr2)["branch"]
    assert git_out(h.repo(h.a), "merge-base", "--is-ancestor", landed, wt) == ""
    # the landed branch left the upstream
    assert not git_out(h.up, "branch", "--list", "polecat/*").count(bead)


def test_two_refineries_for_one_rig_only_one_lands(hosts: Hosts) -> None:
    h = hosts
    mrs = [h.submit(h.a, f"w{i}", {f"w{i}.txt": f"{i}\n"})[1] for i in range(4)]
    refineries = [h.refinery(h.a), h.refinery(h.b)]
    worked: dict[int, int] = {0: 0, 1: 0}

    def run(i: int) -> None:
        for _ in range(6):
            if refineries[i].process_once():
                worked[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {state(h, mr) for mr in mrs} == {"landed"}
    assert [h.landings_of(mr) for mr in mrs] == [1, 1, 1, 1]
    assert min(worked.values()) == 0 < max(worked.values())  # one of them did it all
    holder = h.ledger().mq  # the loser never held the lease
    assert holder is not None
    loser = refineries[0] if worked[0] == 0 else refineries[1]
    assert loser.lease.token is None


def _land_without_record(r: Refinery, mr: str, *, push: bool) -> str:
    """The holder's landing up to (and, when PUSH, including) the push to the upstream,
    then it dies: the record that the request landed is never written."""
    from engine.refinery.workspace import Candidate

    assert r.lease.hold()
    r.recover()
    req = r.ledger.mq.require(mr)
    base = r.ws.tip()
    stacked, _, _ = r.ws.stack(base, [Candidate(req["id"], req["commit"], req["id"])])
    commit = r.ws.landing_commit(base, stacked)
    r.ledger.mq.begin_landing([mr], commit, "b1")
    if push:
        r.publish(commit, base)
    return commit


@pytest.mark.parametrize("pushed", [True, False], ids=["after-push", "before-push"])
def test_the_holder_dying_mid_landing_is_taken_over_and_nothing_lands_twice(
    hosts: Hosts, pushed: bool
) -> None:
    h = hosts
    _, mr = h.submit(h.a, "w", {"w.txt": "w\n"})
    dying = h.refinery(h.a, seconds=0.5)
    commit = _land_without_record(dying, mr, push=pushed)
    taker = h.refinery(h.b, seconds=30)
    assert taker.process_once() is False  # A's lease is still valid: B waits
    assert state(h, mr) == "landing"
    time.sleep(0.6)  # A never renews: its lease expires
    taker.process_once()
    assert taker.lease.token is not None and taker.lease.fresh
    for _ in range(3):
        taker.process_once()
    assert state(h, mr) == "landed"
    assert h.landings_of(mr) == 1
    if pushed:  # recovery found A's pushed landing on the upstream and recorded it
        assert h.ledger().mq.require(mr)["merged_commit"] == commit
    # the dead holder's late record is fenced out
    with pytest.raises(LeaseLost):
        dying.lease.check()
    assert dying.process_once() is False


def test_a_late_push_by_a_stale_holder_is_recorded_not_landed_again(hosts: Hosts) -> None:
    h = hosts
    _, mr = h.submit(h.a, "w", {"w.txt": "w\n"})
    stale = h.refinery(h.a, seconds=0.5)
    commit = _land_without_record(stale, mr, push=False)
    time.sleep(0.6)
    taker = h.refinery(h.b)
    assert taker.lease.hold()
    taker.recover()  # upstream lacks the landing: the request goes back to the queue
    assert state(h, mr) == "queued"
    # the stale holder checked its lease, stalled, and its push arrives now
    assert upstream.push_main(stale.repo, stale.ws.main, commit)
    assert taker.process_once() is False  # nothing left to land: it was recorded
    assert state(h, mr) == "landed"
    assert h.landings_of(mr) == 1
    assert h.ledger().mq.require(mr)["merged_commit"] == commit


def test_a_push_refused_because_upstream_moved_lands_on_the_new_tip(
    hosts: Hosts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = hosts
    _, mr = h.submit(h.a, "w", {"w.txt": "w\n"})
    other = tmp_path / "elsewhere"
    subprocess.run(["git", "clone", "-q", h.up, str(other)], check=True)
    (other / "outside.txt").write_text("pushed by someone else\n")
    git_out(str(other), "add", "-A")
    git_out(str(other), "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-q", "-m", "out")
    outside = git_out(str(other), "rev-parse", "HEAD")
    real_push = upstream.push_main
    pushes: list[bool] = []

    def racing_push(repo: str, main: str, commit: str) -> bool:
        if not pushes:  # someone moves upstream main just before our first push
            git_out(str(other), "push", "-q", "origin", f"HEAD:{main}")
        pushes.append(real_push(repo, main, commit))
        return pushes[-1]

    monkeypatch.setattr(upstream, "push_main", racing_push)
    r = h.refinery(h.b)
    assert r.process_once() is True
    assert pushes == [False]  # refused: nothing was overwritten
    assert state(h, mr) == "queued"
    for _ in range(3):
        r.process_once()
    assert pushes == [False, True]
    assert state(h, mr) == "landed"
    tip = git_out(h.up, "rev-parse", h.main)
    assert git_out(h.up, "merge-base", "--is-ancestor", outside, tip) == ""  # kept
    assert h.landings_of(mr) == 1


def test_a_town_without_hosts_pushes_nothing(tmp_path: Path) -> None:
    """Single-host towns behave as before: the lease is trivially held, nothing is pushed
    to the rig's source, and a restarted engine takes its own lease at once."""
    from tests.conftest import RealTown, submit_work

    rt = RealTown(tmp_path, CONFIG, files={"README.md": "# demo\n"})
    try:
        source_main = git_out(str(rt.source), "rev-parse", "HEAD")
        _, mr = submit_work(rt, "w", {"w.txt": "w\n"})
        first = Refinery(rt.town, rt.ledger, "web", rt.config)
        assert first.process_once() is True
        assert rt.ledger.mq.require(mr)["state"] == "landed"
        assert git_out(str(rt.source), "rev-parse", "HEAD") == source_main
        _, mr2 = submit_work(rt, "w2", {"w2.txt": "w\n"})
        again = Refinery(rt.town, rt.ledger, "web", rt.config)  # "after a restart"
        assert again.process_once() is True
        assert rt.ledger.mq.require(mr2)["state"] == "landed"
    finally:
        rt.close()


def test_the_lease_store_takes_renews_releases_and_fences(hosts: Hosts) -> None:
    from engine.ledger.refinery_leases import RefineryLeaseStore

    now = [1000.0]
    ledger = Ledger(hosts.target, clock=lambda: now[0])
    try:
        store = RefineryLeaseStore(ledger)
        a, before = store.acquire("api", "host-a", 10)
        assert a is not None and before is None and a["epoch"] == 1
        assert store.acquire("api", "host-b", 10)[0] is None  # held and unexpired
        now[0] += 8
        assert store.renew("api", a["token"], 10)  # until 1018
        now[0] += 8
        assert store.acquire("api", "host-b", 10)[0] is None
        assert store.is_held("api", a["token"])
        now[0] += 3  # past 1018: expired, nobody renewed
        assert not store.is_held("api", a["token"])
        b, was = store.acquire("api", "host-b", 10)
        assert b is not None and was is not None and was["holder"] == "host-a"
        assert b["epoch"] == 2 and b["token"] != a["token"]
        assert not store.renew("api", a["token"], 10)  # the old token renews nothing
        kept, _ = store.acquire("api", "host-b", 10, token=b["token"])
        assert kept is not None and kept["token"] == b["token"] and kept["epoch"] == 2
        store.release("api", b["token"])
        c, _ = store.acquire("api", "host-a", 10)  # released: taken at once
        assert c is not None and c["epoch"] == 3
    finally:
        ledger.close()


def test_the_pool_keeper_renews_a_lease_while_a_long_gate_runs(hosts: Hosts) -> None:
    from engine.refinery.lease import Keeper

    stop = threading.Event()
    keeper = Keeper(hosts.a, stop, seconds=0.6, open_ledger=lambda: Ledger(hosts.target))
    holder = RefineryLease(hosts.ledger(), "web", holder_name(hosts.a), 0.6)
    assert holder.hold()
    keeper.add(holder)
    try:
        time.sleep(1.5)  # over twice the lease: only renewals keep it
        other = RefineryLease(hosts.ledger(), "web", holder_name(hosts.b), 0.6)
        assert not other.hold()
        assert holder.valid()
    finally:
        stop.set()
        keeper.join(5)
    time.sleep(0.7)  # nobody renews now
    assert other.hold()
