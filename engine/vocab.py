"""The words of the domain as constants: statuses, types, dependency types, names.

The closed sets are `StrEnum`s in engine/model.py; the names here are aliases of their
members (`OPEN is BeadStatus.OPEN`, equal to "open"), kept so no caller had to change.
Import-light (only `enum`, no typing, no dataclasses) because the `gt` hot path imports it.
"""

from engine.model import AgentStatus, BeadStatus, BeadType, DepType

# Bead statuses. Unknown statuses (Beads' pinned, tombstone...) are stored verbatim.
OPEN = BeadStatus.OPEN
HOOKED = BeadStatus.HOOKED
IN_PROGRESS = BeadStatus.IN_PROGRESS
IN_REVIEW = BeadStatus.IN_REVIEW
CLOSED = BeadStatus.CLOSED
FAILED = BeadStatus.FAILED
CANCELLED = BeadStatus.CANCELLED

STATUSES = tuple(BeadStatus)
FINAL_STATUSES = frozenset({CLOSED, FAILED, CANCELLED, "tombstone"})
# A blocker stops blocking only when it is one of these (Beads' rule, plus tombstone).
UNBLOCKING_STATUSES = ("closed", "pinned", "tombstone")

# Bead types: work that a polecat can be given, and records.
WORK_TYPES = (BeadType.TASK, BeadType.BUG, BeadType.FEATURE, BeadType.CHORE, BeadType.MOLECULE)
RECORD_TYPES = (
    BeadType.CONVOY,
    BeadType.MESSAGE,
    BeadType.MERGE_REQUEST,
    BeadType.AGENT,
    BeadType.ESCALATION,
    BeadType.EVENT,
)
CONTAINER_TYPES = (BeadType.EPIC,)
TYPES = WORK_TYPES + CONTAINER_TYPES + RECORD_TYPES

# Dependency types. Only the first two affect readiness.
BLOCKS = DepType.BLOCKS
PARENT_CHILD = DepType.PARENT_CHILD
TRACKS = DepType.TRACKS
READINESS_DEP_TYPES = (BLOCKS, PARENT_CHILD)
DEP_TYPES = tuple(DepType)

TOWN_PREFIX = "hq"
MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 0, 4, 2

# Agent statuses. Live agents are every status but RETIRED.
AGENT_IDLE = AgentStatus.IDLE
AGENT_ASSIGNED = AgentStatus.ASSIGNED
AGENT_WORKING = AgentStatus.WORKING
AGENT_HANDOFF = AgentStatus.HANDOFF
AGENT_STALLED = AgentStatus.STALLED
AGENT_GUPP = AgentStatus.GUPP
AGENT_ZOMBIE = AgentStatus.ZOMBIE
AGENT_RETIRED = AgentStatus.RETIRED
AGENT_STATUSES = tuple(AgentStatus)

NAME_POOL = (
    "Toast",
    "Maple",
    "Birch",
    "Shadow",
    "Clover",
    "Ember",
    "Sage",
    "Dusk",
    "Flint",
    "Coral",
    "Slate",
    "Reed",
    "Thorn",
    "Pike",
    "Moss",
    "Wren",
    "Blaze",
    "Gale",
    "Drift",
    "Lark",
)

# Convoy states: the convoy bead's status, with "staged" before launch.
CONVOY_STAGED = "staged"
CONVOY_OPEN = BeadStatus.OPEN
CONVOY_LANDED = BeadStatus.CLOSED
CONVOY_CANCELLED = BeadStatus.CANCELLED

MAYOR = "mayor"
