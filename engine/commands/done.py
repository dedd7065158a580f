"""Done: an agent submits its branch to the refinery, or hands its bead back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
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


def done(ledger: Ledger, request: DoneRequest) -> DoneResult:
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
    # git is read before the transaction: the ledger is never held waiting on git
    return record(ledger, request, branch=branch, commit=commit)


def record(
    ledger: Ledger, request: DoneRequest, *, branch: str | None, commit: str | None
) -> DoneResult:
    """The ledger's half of `gt done`, given the branch and head commit git reported:
    completed work becomes a merge request, an escalation goes to the mayor, a deferral
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
            about = summary or ledger.beads.require(bead_id)["title"]
            escalation = ledger.agents.escalate(
                *who,
                title=f"{agent['name']} escalated {bead_id}: {about[:120]}",
                summary=summary,
                subject=f"Escalation from {agent['name']} on {bead_id}",
                reason=released,
            )
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
