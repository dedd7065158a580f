"""Done: an agent submits its branch to the refinery, or hands its bead back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from engine.escalation_routes import EscalationSettings
    from engine.ledger import Ledger

STATUSES = ("completed", "escalated", "deferred")


class DoneRequest(NamedTuple):
    """From an agent whose identity and attempt the caller has already fenced."""

    agent_id: str
    bead_id: str
    attempt: int
    worktree: str  # where the agent's branch is checked out (read only when completed)
    status: str = "completed"
    summary: str | None = None


class DoneResult(NamedTuple):
    bead_id: str
    status: str
    agent: str  # the agent's name
    branch: str | None = None
    commit: str | None = None
    merge_request: str | None = None  # when completed
    escalation: str | None = None  # when escalated

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape (`gt done --json`)."""
        out: dict[str, Any] = {"id": self.bead_id, "status": self.status, "agent": self.agent}
        if self.merge_request is not None:
            out["merge_request"] = self.merge_request
        if self.escalation is not None:
            out["escalation"] = self.escalation
        return out


def done(
    ledger: Ledger, request: DoneRequest, routes: EscalationSettings | None = None
) -> DoneResult:
    """Completed work must be committed: a branch with no commits beyond main is refused
    before anything changes (an empty merge request would close the bead unfixed)."""
    from engine.errors import Conflict, GtError

    branch = commit = None
    if request.status == "completed":
        from engine.polecats import worktrees

        where = request.worktree
        try:
            branch = worktrees.current_branch(where)
            commit = worktrees.head(where)
            ahead = worktrees.commits_ahead(where)
        except GtError as exc:
            raise GtError(f"cannot read the branch in {where}: {exc.message}") from None
        if ahead == 0:
            raise Conflict(
                f"{branch} has no commits beyond main: commit your work first "
                f"(or `gt done --status deferred` to hand the bead back)"
            )
        from engine import upstream

        # a rig shared across hosts: the refinery may run on another host, which fetches
        # the branch from the upstream; pushed before the request exists, so a request
        # never names a branch the refinery cannot find (a failed push records nothing)
        if upstream.is_shared(where):
            try:
                upstream.push_branch(where, branch)
            except GtError as exc:
                raise GtError(
                    f"cannot push {branch} to the rig's upstream: {exc.message}"
                ) from None
    # git is read before the transaction: the ledger is never held waiting on git
    return record(ledger, request, branch=branch, commit=commit, routes=routes)


def record(
    ledger: Ledger,
    request: DoneRequest,
    *,
    branch: str | None,
    commit: str | None,
    routes: EscalationSettings | None = None,
) -> DoneResult:
    """The ledger's half of `gt done`, given the branch and head commit git reported:
    completed work becomes a merge request, an escalation goes up its route (ROUTES:
    town.toml's [escalation]), a deferral
    hands the bead back. The agent is fenced first, so a stale attempt learns only that."""
    from engine.errors import Conflict

    bead_id, status, summary = request.bead_id, request.status, request.summary
    who = (request.agent_id, bead_id, request.attempt)
    released = f"gt done ({status})"
    merge_request = escalation = None
    with ledger.transaction(durable=True):
        agent = ledger.agents.hooked_agent(*who)
        if status == "completed":
            if not branch or not commit:
                raise Conflict(
                    "gt done needs the branch and its head commit (run it inside the worktree)"
                )
            merge_request = ledger.agents.submit(
                *who,
                title=f"Merge {branch}",
                summary=summary,
                branch=branch,
                commit=commit,
                reason=released,
            )
        elif status == "escalated":
            from engine.escalations import escalate

            about = summary or ledger.beads.require(bead_id)["title"]
            # through the ladder like every escalation: its route, raised when nobody
            # acknowledges it, one per bead however often it is handed back
            escalation = escalate(
                ledger,
                title=f"{agent['name']} escalated {bead_id}: {about[:120]}",
                body=summary or f"{agent['name']} handed {bead_id} back for a person.",
                severity="medium",
                actor=agent["id"],
                source=bead_id,
                cause=f"escalated:{bead_id}",
                routes=routes,
            )["id"]
            ledger.agents.escalate(*who, escalation=escalation, summary=summary, reason=released)
        elif status == "deferred":
            ledger.agents.defer(*who, summary=summary, reason=released)
        else:
            raise Conflict(f"unknown done status {status!r}")
    return DoneResult(
        bead_id=bead_id,
        status=status,
        agent=agent["name"],
        branch=branch,
        commit=commit,
        merge_request=merge_request,
        escalation=escalation,
    )
