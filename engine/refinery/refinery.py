"""One rig's refinery: take a batch from the queue, stack it, gate it, bisect, land.

Runs on its own thread with its own ledger connection (gates take minutes; the scheduler
must not wait for them). Every step is recorded before and after it happens, so a restart
resumes the queue from the ledger and never lands a request twice.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from engine import upstream, vocab
from engine.deacon import forecast
from engine.errors import GtError
from engine.polecats import worktrees
from engine.policy import RetryPolicy, rejection
from engine.refinery import bisect, send_back
from engine.refinery import stats as refinery_stats
from engine.refinery.gates import GateRunner, GatesStopped, gate_list
from engine.refinery.lease import LeaseLost, RefineryLease, holder_name
from engine.refinery.workspace import Candidate, Workspace

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.records import MergeRequest, QueuedMergeRequest
    from engine.town import Town

log = logging.getLogger("gastown.refinery")


class _Moved(Exception):
    """The target branch moved under us: put the batch back and start again."""


class Refinery:
    def __init__(
        self,
        town: Town,
        ledger: Ledger,
        rig: str,
        config: TownConfig,
        gate_runner: GateRunner | None = None,
        lease: RefineryLease | None = None,
    ) -> None:
        self.town = town
        self.ledger = ledger
        self.rig = rig
        self.config = config
        self.settings = config.rig(rig)
        rig_row = ledger.rigs.require(rig)
        self.gates = gate_list(rig_row["gates"], self.settings.gates)
        # the engine's runner (shared by its rigs) kills running gates when it stops
        self.gate_runner = gate_runner or GateRunner(town.state_dir)
        hooks = os.path.join(town.state_dir, "empty-hooks")
        # this town's clone, wherever the town that added the rig keeps its own
        self.repo = upstream.local_clone(town, rig)
        self.ws = Workspace(self.repo, os.path.join(town.rig_dir(rig), "refinery"), hooks)
        self.logs = os.path.join(town.logs_dir, "refinery", rig)
        self.lease = lease or RefineryLease(ledger, rig, holder_name(town))
        self.shared = False  # read from the clone at each recovery (engine/upstream.py)
        self._recovered = False
        self._touched: dict[str, list[str]] = {}  # commit -> changed paths (immutable)

    # ---- state kept in the ledger --------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return refinery_stats.read(self.ledger, self.rig)

    def _save_stats(self, st: dict[str, Any]) -> None:
        refinery_stats.write(self.ledger, self.rig, st)

    def batch_size(self) -> int:
        return refinery_stats.batch_size(self.stats(), self.settings.max_batch)

    def next_batch_id(self) -> str:
        """`calc-b12`: the rig's batches counted in its statistics, so an id is short enough
        to read and say (it names the gate log too); saved before use, so never reused."""
        st = self.stats()
        st["batches"] = int(st.get("batches", 0)) + 1
        self._save_stats(st)
        return f"{self.rig}-b{st['batches']}"

    # ---- recovery ------------------------------------------------------------------------

    def recover(self) -> None:
        """After a crash, or on taking over another host's lease: a landing either
        happened (the branch has it: upstream main, fetched first, for a shared rig) or
        did not."""
        self.ws.ensure()
        self.shared = upstream.is_shared(self.repo)
        if self.shared:
            self.sync()
        for mr in self.ledger.mq.in_flight(self.rig):
            if (
                mr["state"] == "landing"
                and mr["merged_commit"]
                and self.ws.contains(mr["merged_commit"])
            ):
                with self.ledger.transaction(durable=True):
                    self.lease.check()
                    finish_landing(self.ledger, [mr["id"]], mr["merged_commit"])
                log.info("%s: confirmed the landing of %s after a restart", self.rig, mr["id"])
            else:
                with self.ledger.transaction(durable=True):
                    self.lease.check()
                    self.ledger.mq.set_state([mr["id"]], "queued", data={"reason": "restart"})
        self._recovered = True

    def sync(self) -> None:
        """A shared rig, before each batch: fetch main and the candidates from the
        upstream and move this clone's main to upstream main. A main landed here before
        the rig was shared is pushed first. A queued request whose commit upstream main
        already holds was landed by an earlier holder whose record never came (it lost
        its lease between its push and its record): it is recorded, never landed twice."""
        main = self.ws.main
        up = upstream.fetch(self.repo, main, candidates=True)
        tip = upstream.follow(self.repo, main, up)
        if tip != up:
            self.lease.check()  # only the holder publishes
            if not upstream.push_main(self.repo, main, tip):
                raise _Moved()
        for mr in self.ledger.mq.queue(self.rig):
            if not self.ws.contains(mr["commit"]):
                continue
            landed_in = mr["merged_commit"]
            if not landed_in or not self.ws.contains(landed_in):
                landed_in = tip
            with self.ledger.transaction(durable=True):
                self.lease.check()
                finish_landing(self.ledger, [mr["id"]], landed_in)
            log.info("%s: %s is on upstream main already: recorded", self.rig, mr["id"])

    # ---- one batch -----------------------------------------------------------------------

    def triage(self) -> list[QueuedMergeRequest]:
        """The queue in landing order, minus what must not be tested now."""
        ready = []
        for mr in self.ledger.mq.queue(self.rig):
            if mr["source_status"] in (vocab.CANCELLED, None):
                self.ledger.mq.drop(mr["id"], "its bead was cancelled")
                continue
            if self.shared and not upstream.has_commit(self.repo, mr["commit"]):
                # recorded on another host after this round's fetch: the next round has it
                continue
            if not mr["approved"]:
                touched = self.protected_paths(mr["commit"])
                if touched:
                    self.ledger.mq.set_state(
                        [mr["id"]],
                        "awaiting_approval",
                        data={"paths": touched},
                        failure="touches protected paths: " + ", ".join(touched),
                    )
                    continue
            ready.append(mr)
        # two requests the conflict forecast says collide: the smaller lands first, and
        # the larger (sent back on the conflict) is the one with less left to redo
        return forecast.order_queue(self.ledger, self.rig, ready)

    def protected_paths(self, commit: str) -> list[str]:
        prefixes = self.settings.protected_paths
        if commit not in self._touched:
            self._touched[commit] = self.ws.changed_paths(commit)
        return [
            p
            for p in self._touched[commit]
            if any(
                p == x.rstrip("/") or p.startswith(x if x.endswith("/") else x + "/") or p == x
                for x in prefixes
            )
        ]

    def process_once(self) -> bool:
        if not self.lease.hold():
            self._recovered = False  # another engine runs this queue; recover on taking it
            return False
        if self.lease.fresh:
            self._recovered = False
        try:
            if not self._recovered:
                self.recover()
            elif self.shared:
                self.sync()
            return self._batch()
        except LeaseLost:
            log.warning("%s: lost the refinery lease; another engine runs the queue", self.rig)
            self._recovered = False
            return False
        except _Moved:  # upstream main moved under a publish: fetch and start again
            return True

    def _batch(self) -> bool:
        queue = self.triage()
        if not queue:
            return False
        size = self.batch_size()
        picked = queue[:size]
        batch_id = self.next_batch_id()
        ids = [m["id"] for m in picked]
        self.ledger.mq.set_state(ids, "testing", batch=batch_id, data={"size": len(ids)})
        by_id = {m["id"]: m for m in picked}
        bases = worktrees.recorded_bases(self.ws.repo)
        candidates = [
            Candidate(m["id"], m["commit"], m["source_title"] or m["id"], bases.get(m["branch"]))
            for m in picked
        ]
        base = [self.ws.tip()]
        conflicts: dict[str, list[str]] = {}
        reverts: dict[str, list[str]] = {}
        last: dict[str, Any] = {}
        log_path = os.path.join(self.logs, f"{batch_id}.log")
        st = self.stats()
        recent_flake = any(t > time.time() - 3600 for t in st.get("flakes", []))

        def prepare(group: list[Candidate]) -> list[Candidate]:
            stacked, bad, undoing = self.ws.stack(base[0], group)
            conflicts.update(bad)
            reverts.update(undoing)
            return stacked

        def test(group: list[Candidate]) -> bool:
            label = f"{len(group)} on {base[0][:10]}: " + " ".join(c.id for c in group)
            result = self.gate_runner.run(
                self.gates,
                self.ws.path,
                log_path,
                hooks_dir=self.ws.hooks_dir,
                timeout=self.settings.gate_timeout_seconds,
                label=label,
                env_names=self.settings.gate_env,
            )
            if not result.ok:
                last["failure"] = result  # what an implied rejection points back to
            return result.ok

        def land(group: list[Candidate]) -> None:
            commit = self.ws.landing_commit(base[0], group)
            group_ids = [c.id for c in group]
            with self.ledger.transaction(durable=True):
                self.lease.check()
                self.ledger.mq.begin_landing(group_ids, commit, batch_id)
            self.publish(commit, base[0])
            with self.ledger.transaction(durable=True):
                self.lease.check()  # fenced: a holder that lost its lease records nothing
                closed = finish_landing(self.ledger, group_ids, commit)
            base[0] = commit
            log.info(
                "%s: landed %s in %s (closed %s)",
                self.rig,
                ", ".join(group_ids),
                commit[:10],
                ", ".join(closed),
            )
            self.cleanup([by_id[i] for i in group_ids])

        def reject(c: Candidate) -> None:
            result = last.get("failure")
            send_back.gates_failed(
                self.ledger,
                c.id,
                reason=result.summary if result else "gates failed",
                log=log_path,
                retry=RetryPolicy.of(self.config.scheduler),
                routes=self.config.escalation,
            )
            log.warning("%s: %s failed the gates", self.rig, c.id)

        def flaked(c: Candidate) -> None:
            st.setdefault("flakes", []).append(time.time())
            self.ledger.state.record_event(
                "gate_flake", bead_id=c.id, actor="refinery", data={"batch": batch_id}
            )
            log.warning("%s: a gate flaked on %s; it passed when re-run", self.rig, c.id)

        try:
            outcome = bisect.process(
                candidates,
                test=test,
                land=land,
                reject=reject,
                flaked=flaked,
                prepare=prepare,
                verify_implied=recent_flake,
            )
        except (_Moved, GatesStopped):  # stopping: the next engine tests these again
            with self.ledger.transaction(durable=True):
                self.lease.check()
                undecided = [
                    m["id"]
                    for m in picked
                    if (self.ledger.mq.get(m["id"]) or {}).get("state") in ("testing", "landing")  # type: ignore[call-overload]
                ]
                self.ledger.mq.set_state(undecided, "queued", data={"reason": "target moved"})
            return True
        if outcome.requeued:
            self.ledger.mq.set_state(
                [c.id for c in outcome.requeued],
                "queued",
                data={"reason": "undecided after bisection"},
            )
        for mr_id, files in conflicts.items():
            self.handle_conflict(by_id[mr_id], files)
        for mr_id, files in reverts.items():
            self.refuse_revert(by_id[mr_id], files)
        rate = bisect.FailureRate(st.get("failure_rate", refinery_stats.PRIOR_FAILURE_RATE))
        for _ in outcome.landed:
            rate.observe(False)
        for _ in outcome.rejected:
            rate.observe(True)
        st["failure_rate"] = rate.value
        st["flakes"] = [t for t in st.get("flakes", []) if t > time.time() - 86400]
        st["last_batch"] = {
            "id": batch_id,
            "size": len(ids),
            "gate_runs": outcome.gate_runs,
            "landed": len(outcome.landed),
            "rejected": len(outcome.rejected),
        }
        self._save_stats(st)
        return True

    def publish(self, commit: str, base: str) -> None:
        """Move the target to the landing commit: this clone's main by compare-and-swap;
        for a shared rig, upstream main first (fast-forward only, and only while the
        lease holds), then this clone's main follows. Upstream main moved meanwhile:
        `_Moved` (nothing was overwritten; the batch is tested again on the new tip)."""
        if not self.shared:
            if not self.ws.advance(commit, base):
                raise _Moved()
            return
        if not self.lease.valid():
            raise LeaseLost(self.rig)
        if not upstream.push_main(self.repo, self.ws.main, commit):
            log.info("%s: upstream main moved; testing the batch again on its tip", self.rig)
            raise _Moved()
        upstream.follow(self.repo, self.ws.main, commit)

    def handle_conflict(self, mr: MergeRequest, files: list[str]) -> None:
        if self.settings.on_conflict == "auto_rebase":
            rebased = self.ws.rebase(mr["commit"])
            if rebased:
                self.ledger.mq.requeue_rebased(mr["id"], rebased)
                log.info("%s: rebased %s onto the tip and queued it again", self.rig, mr["id"])
                return
        rework = send_back.conflicted(
            self.ledger, mr["id"], files=files, base_commit=mr["commit"], branch=mr["branch"]
        )
        log.info(
            "%s: %s conflicts in %s; rework %s goes back to its polecat",
            self.rig,
            mr["id"],
            ", ".join(files),
            rework,
        )

    def refuse_revert(self, mr: MergeRequest, files: list[str]) -> None:
        """Never land a tree that undoes landed work; a person decides (the branch stays)."""
        shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
        reason = (
            f"refused: merging {mr['branch']} would change {shown}, which its own commits "
            "do not change (its files are out of step with its history; landing it would "
            "revert work already on the target)"
        )
        send_back.rejected(
            self.ledger, mr["id"], reason=reason, actor="refinery", retry=rejection(1)
        )
        log.error("%s: %s %s", self.rig, mr["id"], reason)

    def cleanup(self, landed: list[QueuedMergeRequest]) -> None:
        """A landed polecat branch is deleted (its work is in the target now)."""
        for mr in landed:
            try:
                if self.shared:  # the polecat's host may not be this one: upstream first
                    upstream.delete_branch(self.repo, mr["branch"])
                self.ws.delete_branch(mr["branch"])
            except GtError as exc:
                log.info("kept %s: %s", mr["branch"], exc)


def finish_landing(ledger: Ledger, ids: list[str], commit: str) -> list[str]:
    """The target branch holds `commit`: the requests land and their beads close, each
    saying where; returns the closed source beads."""
    return ledger.mq.finish_landing(
        ids,
        commit=commit,
        landed_reason=f"landed in {commit[:12]}",
        merged_reason=f"merged in {commit[:12]}",
    )
