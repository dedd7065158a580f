"""Hosts: several engines sharing one ledger, each running its own polecats — placement by
free capacity and rig, names unique town-wide, and failover when a host goes silent.

Two "hosts" here are two schedulers on two connections to the town's one ledger (SQLite
and PostgreSQL: the `ledger` fixture runs each test on both), each with its own
recording dispatcher standing for its machine's tmux.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import NamedTuple

import pytest

from engine import vocab
from engine.config import HostSettings, SchedulerSettings, TownConfig
from engine.errors import Conflict, GtError
from engine.host_membership import HostMembership, host_name_problem, refuse_hostless
from engine.ledger import Ledger
from engine.policy import best_host, handoff_wait, heartbeat_every, host_expired, host_serves
from engine.scheduler.reconciler import Scheduler
from tests.conftest import add_rig
from tests.recording import RecordingDispatcher

LEASE = 15.0


class Host(NamedTuple):
    name: str
    ledger: Ledger
    scheduler: Scheduler
    membership: HostMembership
    dispatcher: RecordingDispatcher

    def reconcile(self) -> None:
        self.scheduler.reconcile(self.dispatcher)

    def beat(self) -> bool:
        return self.ledger.hosts.beat(self.name, self.membership.epoch)

    def busy(self) -> int:
        return self.ledger.agents.busy_on(self.name)


@pytest.fixture
def hosts(town, clock, request):
    opened: list[Ledger] = []

    def make(name: str, capacity: int, rigs: list[str] | None = None) -> Host:
        ledger = Ledger(town.ledger_target, clock=clock)
        opened.append(ledger)
        config = TownConfig(
            scheduler=SchedulerSettings(max_polecats=capacity, max_polecats_per_rig=capacity),
            host=HostSettings(rigs=rigs or [], address=f"{name}.example", lease_seconds=LEASE),
        )
        scheduler = Scheduler(ledger, config, host=name)
        membership = HostMembership(name, config, f"/towns/{name}")
        scheduler.host_epoch = membership.join(ledger)
        scheduler.membership = membership
        return Host(name, ledger, scheduler, membership, RecordingDispatcher())

    yield make
    for led in opened:
        led.close()


def settle(*hosts: Host, rounds: int = 8) -> None:
    for _ in range(rounds):
        for h in hosts:
            h.reconcile()


# ---- the rules (engine/policy.py) --------------------------------------------------------


def test_a_bead_goes_to_the_host_with_most_free_capacity_ties_by_name():
    assert best_host({"b": 3, "a": 2}) == "b"
    assert best_host({"b": 2, "a": 2}) == "a"
    assert best_host({"a": 0, "b": -1}) is None
    assert best_host({}) is None


def test_a_host_is_lost_only_once_its_lease_has_passed():
    assert not host_expired(100.0, 15.0, 115.0)
    assert host_expired(100.0, 15.0, 115.5)


def test_a_host_with_no_rigs_listed_serves_every_rig():
    assert host_serves([], "web") and host_serves(["web"], "web")
    assert not host_serves(["api"], "web")


def test_a_host_renews_its_lease_several_times_within_it():
    assert heartbeat_every(LEASE) * 2 < LEASE
    assert handoff_wait(LEASE) == heartbeat_every(LEASE)


def test_a_host_name_is_a_plain_word():
    assert host_name_problem("box-1.lan") is None
    assert host_name_problem("a b")
    assert host_name_problem("-x")


# ---- the hosts store ---------------------------------------------------------------------


def test_each_join_is_a_new_epoch_and_old_epochs_change_nothing(ledger, clock):
    args = {"capacity": 2, "rigs": [], "address": "x", "town_root": "/t", "lease_seconds": LEASE}
    first = ledger.hosts.join("a", **args)
    assert ledger.hosts.beat("a", first)
    second = ledger.hosts.join("a", **args)
    assert second == first + 1
    clock.advance(5)
    assert not ledger.hosts.beat("a", first)  # a stale engine's heartbeat
    assert not ledger.hosts.stop("a", first)
    assert ledger.hosts.get("a")["state"] == "live"
    assert ledger.hosts.beat("a", second)
    assert ledger.hosts.get("a")["heartbeat_at"] == clock()
    assert ledger.hosts.stop("a", second)
    assert ledger.hosts.get("a")["state"] == "stopped"
    assert ledger.hosts.live() == []


def test_a_host_is_declared_lost_once_even_when_two_engines_declare_it(ledger):
    args = {"capacity": 2, "rigs": [], "address": "x", "town_root": "/t", "lease_seconds": LEASE}
    epoch = ledger.hosts.join("a", **args)
    with ledger.transaction(durable=True):
        assert ledger.hosts.declare_lost("a", epoch, by="host:b", reason="silent") == []
    with ledger.transaction(durable=True):
        assert ledger.hosts.declare_lost("a", epoch, by="host:c", reason="silent") is None
    assert ledger.hosts.get("a")["state"] == "lost"
    kinds = [e["kind"] for e in ledger.state.recent(limit=10)]
    assert kinds.count("host_lost") == 1


# ---- placement across hosts --------------------------------------------------------------


def test_two_hosts_share_the_work_within_each_capacity_and_names_stay_unique(ledger, hosts):
    add_rig(ledger, "web", "gt")
    a, b = hosts("a", 2), hosts("b", 3)
    ids = [ledger.beads.create(f"task {i}", rig="web", slung=True)["id"] for i in range(7)]
    settle(a, b)
    assert a.busy() == 2 and b.busy() == 3
    agents = ledger.agents.list()
    assert len({x["name"] for x in agents}) == len(agents) == 5
    assert {x["host"] for x in agents} == {"a", "b"}
    hooked = Counter(x["hook"] for x in agents)
    assert all(n == 1 for n in hooked.values()) and set(hooked) <= set(ids)
    # each host started only its own agents
    for h in (a, b):
        mine = {x["id"] for x in ledger.agents.list(host=h.name)}
        assert {s.agent_id for s in h.dispatcher.started} == mine
    waiting = [i for i in ids if ledger.beads.get(i)["status"] == vocab.OPEN]
    assert len(waiting) == 2
    assert ledger.agents.invariant_violations() == []


def test_a_burst_of_ready_beads_is_shared_out_in_one_pass_of_each_host(ledger, hosts):
    """Three equal hosts, nine ready beads: each engine's first reconcile claims its own
    third at once (round robin), not one bead per wake-up of the others."""
    add_rig(ledger, "web", "gt")
    a, b, c = hosts("a", 5), hosts("b", 5), hosts("c", 5)
    ids = [ledger.beads.create(f"task {i}", rig="web", slung=True)["id"] for i in range(9)]
    a.reconcile()
    assert a.busy() == 3
    assert {x["hook"] for x in ledger.agents.list(host="a")} == {ids[0], ids[3], ids[6]}
    b.reconcile()
    c.reconcile()
    assert (a.busy(), b.busy(), c.busy()) == (3, 3, 3)
    assert all(ledger.beads.get(i)["assignee"] for i in ids)


def test_a_host_takes_only_beads_of_the_rigs_it_serves(ledger, hosts):
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    a, b = hosts("a", 5, rigs=["web"]), hosts("b", 1, rigs=["api"])
    api = [ledger.beads.create(f"api {i}", rig="api", slung=True)["id"] for i in range(2)]
    web = ledger.beads.create("web", rig="web", slung=True)["id"]
    settle(a, b)
    assert ledger.beads.get(web)["assignee"].startswith("web/")
    assert ledger.agents.get(ledger.beads.get(web)["assignee"])["host"] == "a"
    placed = [ledger.beads.get(i)["assignee"] for i in api]
    assert sum(1 for p in placed if p) == 1  # b's one slot; a, with room, never takes api work
    assert all(ledger.agents.get(p)["host"] == "b" for p in placed if p)


def test_a_bead_the_preferred_host_does_not_take_goes_to_another_after_one_heartbeat(
    ledger, hosts, clock
):
    add_rig(ledger, "web", "gt")
    a, b = hosts("a", 1), hosts("b", 4)  # b is preferred (more room) but never reconciles
    bead = ledger.beads.create("one", rig="web", slung=True)["id"]
    a.reconcile()
    assert ledger.beads.get(bead)["status"] == vocab.OPEN
    assert "host b has more room" in a.scheduler.place(bead)["reason"]
    clock.advance(handoff_wait(LEASE) + 0.1)
    b.beat()
    a.reconcile()
    assert ledger.agents.get(ledger.beads.get(bead)["assignee"])["host"] == "a"


def test_an_engine_without_a_host_places_nothing_while_hosts_serve_the_ledger(
    ledger, hosts, dispatcher
):
    add_rig(ledger, "web", "gt")
    hosts("a", 2)
    single = Scheduler(ledger, TownConfig())
    bead = ledger.beads.create("one", rig="web")["id"]
    placed = single.sling(bead)
    assert placed["queued"] and "hosts (a) place its work" in placed["reason"]
    single.reconcile(dispatcher)
    assert dispatcher.started == [] and ledger.beads.get(bead)["assignee"] is None
    with pytest.raises(GtError, match="served by hosts"):
        refuse_hostless(ledger)


def test_a_host_does_not_join_beside_a_single_host_engines_working_polecats(
    ledger, scheduler, dispatcher, hosts
):
    add_rig(ledger, "web", "gt")
    ledger.beads.create("one", rig="web", slung=True)
    scheduler.reconcile(dispatcher)
    with pytest.raises(GtError, match="single-host engine"):
        hosts("a", 2)


def test_a_second_engine_cannot_join_under_a_live_hosts_name(ledger, hosts):
    hosts("a", 2)
    other = HostMembership("a", TownConfig(), "/towns/elsewhere")
    with pytest.raises(GtError, match="already live"):
        other.join(ledger)


# ---- failover ----------------------------------------------------------------------------


def test_an_outage_of_the_ledger_itself_loses_no_host(ledger, hosts, clock):
    """Every host was silent because the ledger was away (its server restarted, the
    network broke): the first host back must not declare the others lost and release all
    their work. Their silence counts from when it got back; one that stays silent a whole
    lease after that is lost."""
    add_rig(ledger, "web", "gt")
    a, b = hosts("a", 2), hosts("b", 2)
    bead = ledger.beads.create("t", rig="web", slung=True)["id"]
    settle(a, b)
    holder = ledger.agents.get(ledger.beads.get(bead)["assignee"])["host"]
    clock.advance(LEASE * 3)  # the ledger was away: no host could beat
    a.membership.note_beat(False, clock())
    a.membership.note_beat(True, clock())  # a is back first
    a.beat()
    a.reconcile()
    assert ledger.hosts.get("b")["state"] == "live"
    assert ledger.agents.get(ledger.beads.get(bead)["assignee"])["host"] == holder
    clock.advance(LEASE + 1)  # b never came back
    a.beat()
    a.reconcile()
    assert ledger.hosts.get("b")["state"] == "lost"


def test_a_silent_host_is_declared_lost_and_its_beads_run_elsewhere_with_the_next_attempt(
    ledger, hosts, clock
):
    add_rig(ledger, "web", "gt")
    a = hosts("a", 2)
    ids = [ledger.beads.create(f"t{i}", rig="web", slung=True)["id"] for i in range(2)]
    a.reconcile()
    assert a.busy() == 2
    old = {i: ledger.beads.get(i)["attempt"] for i in ids}
    old_agents = {i: ledger.beads.get(i)["assignee"] for i in ids}
    b = hosts("b", 3)
    b.reconcile()
    assert b.busy() == 0  # a is live: its work stays with it
    clock.advance(LEASE + 1)  # a says nothing more (killed, paused, cut off)
    b.beat()
    b.reconcile()
    assert ledger.hosts.get("a")["state"] == "lost"
    for i in ids:
        bead = ledger.beads.get(i)
        assert bead["failures"] == 0  # not the bead's fault
        assert bead["attempt"] == old[i] + 1  # re-dispatched on b at once
        assert ledger.agents.get(bead["assignee"])["host"] == "b"
    kinds = [e["kind"] for e in ledger.state.recent(limit=50)]
    assert "host_lost" in kinds and kinds.count("host_released") == 2
    mail = ledger.mail.inbox([vocab.MAYOR])
    assert any("host a lost" in m["title"] for m in mail)
    # the lost host's late calls change nothing
    for i in ids:
        with pytest.raises(Conflict):
            ledger.agents.submit(
                old_agents[i],
                i,
                old[i],
                title="late",
                summary=None,
                branch="b",
                commit="c" * 40,
                reason="late",
            )
    assert not a.beat()
    assert ledger.agents.invariant_violations() == []


def test_a_lost_host_that_comes_back_rejoins_adopts_nothing_and_stops_its_stale_sessions(
    ledger, hosts, clock
):
    add_rig(ledger, "web", "gt")
    a = hosts("a", 2)
    bead = ledger.beads.create("t", rig="web", slung=True)["id"]
    a.reconcile()
    stale = set(a.dispatcher.sessions)
    assert len(stale) == 1
    b = hosts("b", 2)
    clock.advance(LEASE + 1)
    b.beat()
    b.reconcile()  # a is declared lost; its bead runs on b now
    epoch = a.membership.epoch
    a.reconcile()  # a wakes up (SIGCONT): it re-joins and stops what it ran
    assert a.membership.epoch == epoch + 1
    assert ledger.hosts.get("a")["state"] == "live"
    assert stale <= set(a.dispatcher.stopped)
    assert a.dispatcher.sessions == set()
    assert ledger.agents.list(host="a") == []
    assert ledger.agents.get(ledger.beads.get(bead)["assignee"])["host"] == "b"
    assert ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS


def test_a_late_checkpoint_of_a_lost_hosts_agent_is_refused(ledger, hosts, clock):
    add_rig(ledger, "web", "gt")
    a = hosts("a", 1)
    bead = ledger.beads.create("t", rig="web", slung=True)["id"]
    a.reconcile()
    agent = ledger.beads.get(bead)["assignee"]
    attempt = ledger.beads.get(bead)["attempt"]
    b = hosts("b", 1, rigs=["other"])  # serves nothing here: the bead stays open
    clock.advance(LEASE + 1)
    b.beat()
    b.reconcile()
    with pytest.raises(Conflict, match="retired"):
        ledger.agents.record(agent, "checkpoint", attempt=attempt, data={"note": "late"})
    ledger.agents.set_health(agent, vocab.AGENT_WORKING)  # a late witness label: ignored
    assert ledger.agents.get(agent)["status"] == vocab.AGENT_RETIRED
    assert ledger.beads.get(bead)["status"] == vocab.OPEN


def test_a_cleanly_stopped_host_keeps_its_work_for_one_lease_then_it_moves(ledger, hosts, clock):
    add_rig(ledger, "web", "gt")
    a = hosts("a", 1)
    bead = ledger.beads.create("t", rig="web", slung=True)["id"]
    a.reconcile()
    a.membership.leave(a.ledger)  # its sessions outlive it, to be adopted on restart
    b = hosts("b", 1)
    b.reconcile()
    assert ledger.agents.get(ledger.beads.get(bead)["assignee"])["host"] == "a"
    clock.advance(LEASE + 1)
    b.beat()
    b.reconcile()
    assert ledger.agents.get(ledger.beads.get(bead)["assignee"])["host"] == "b"


# ---- gt hosts, gt attach/peek -------------------------------------------------------------


def test_gt_hosts_lists_each_host_with_its_load_and_heartbeat(town, ledger, hosts, clock):
    from tests.conftest import gt

    add_rig(ledger, "web", "gt")
    a = hosts("a", 2, rigs=["web"])
    ledger.beads.create("t", rig="web", slung=True)
    a.reconcile()
    proc = gt("hosts", town=town)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("a "))
    assert "live" in line and "1/2" in line and "web" in line and "a.example" in line
    proc = gt("hosts", "--json", town=town)
    (row,) = json.loads(proc.stdout)
    assert row["name"] == "a" and row["busy"] == 1 and row["epoch"] == 1


@pytest.mark.parametrize("command", ["attach", "peek"])
def test_attach_or_peek_of_another_hosts_polecat_says_where_it_runs(town, ledger, hosts, command):
    from engine.adapters.tmux import socket_name
    from tests.conftest import gt

    add_rig(ledger, "web", "gt")
    a = hosts("a", 2)
    ledger.beads.create("t", rig="web", slung=True)
    a.reconcile()
    (agent,) = ledger.agents.list(host="a")
    proc = gt(command, agent["name"], town=town)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert f"{agent['name']} runs on host a (a.example" in line
    assert f"ssh -t a.example tmux -L {socket_name('/towns/a')} attach-session" in line


def test_a_nudge_for_another_hosts_polecat_waits_for_that_host(ledger, hosts):
    add_rig(ledger, "web", "gt")
    a, b = hosts("a", 1), hosts("b", 1, rigs=["none"])
    ledger.beads.create("t", rig="web", slung=True)
    a.reconcile()
    (agent,) = ledger.agents.list(host="a")
    ledger.inbox.put("nudge", {"agent_id": agent["id"], "message": "hi"}, actor="mayor")
    seen: list[str] = []
    b.scheduler.apply_inbox({"nudge": lambda p: seen.append("b")})
    assert seen == [] and len(ledger.inbox.pending()) == 1
    a.scheduler.apply_inbox({"nudge": lambda p: seen.append("a")})
    assert seen == ["a"] and ledger.inbox.pending() == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--engine-only", "--host", "a b"], "is not a host name"),
        (["--host", "a"], "--host goes with --serve (an address) or --engine-only"),
    ],
)
def test_a_bad_host_option_is_a_one_line_usage_error(args, needle, tmp_path):
    import subprocess

    from tests.cli_support import gastown_argv

    proc = subprocess.run(
        [*gastown_argv(), *args, "--town", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr
