"""The words of the domain as constants: statuses, types, dependency types, names.

Import-light (no typing, no dataclasses) because the `gt` hot path imports it.
"""

# Bead statuses. Beads (the tracker) has more (pinned, tombstone, deferred, blocked...);
# unknown statuses are stored verbatim and simply never become ready.
OPEN = "open"
HOOKED = "hooked"
IN_PROGRESS = "in_progress"
IN_REVIEW = "in_review"
CLOSED = "closed"
FAILED = "failed"
CANCELLED = "cancelled"

STATUSES = (OPEN, HOOKED, IN_PROGRESS, IN_REVIEW, CLOSED, FAILED, CANCELLED)
FINAL_STATUSES = frozenset({CLOSED, FAILED, CANCELLED, "tombstone"})
# A blocker stops blocking only when it is one of these (Beads' rule, plus tombstone).
UNBLOCKING_STATUSES = ("closed", "pinned", "tombstone")

# Bead types: work that a polecat can be given, and records.
WORK_TYPES = ("task", "bug", "feature", "chore", "molecule")
RECORD_TYPES = ("convoy", "message", "merge-request", "agent", "escalation", "event")
CONTAINER_TYPES = ("epic",)
TYPES = WORK_TYPES + CONTAINER_TYPES + RECORD_TYPES

# Dependency types. Only the first two affect readiness.
BLOCKS = "blocks"
PARENT_CHILD = "parent-child"
TRACKS = "tracks"
READINESS_DEP_TYPES = (BLOCKS, PARENT_CHILD)
DEP_TYPES = (BLOCKS, PARENT_CHILD, "related", "discovered-from", TRACKS)

TOWN_PREFIX = "hq"
MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 0, 4, 2

# Agent statuses. Live agents are every status but RETIRED.
AGENT_IDLE = "idle"
AGENT_ASSIGNED = "assigned"  # hooked, dispatch not yet done
AGENT_WORKING = "working"
AGENT_HANDOFF = "handoff"  # asked for a fresh session on the same hook
AGENT_STALLED = "stalled"
AGENT_GUPP = "gupp"  # hooked, but no progress for the GUPP window
AGENT_ZOMBIE = "zombie"
AGENT_RETIRED = "retired"
AGENT_STATUSES = (
    AGENT_IDLE,
    AGENT_ASSIGNED,
    AGENT_WORKING,
    AGENT_HANDOFF,
    AGENT_STALLED,
    AGENT_GUPP,
    AGENT_ZOMBIE,
    AGENT_RETIRED,
)

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

# Convoy states (the convoy bead's status, with "staged" before launch).
CONVOY_STAGED = "staged"
CONVOY_OPEN = "open"
CONVOY_LANDED = "closed"
CONVOY_CANCELLED = "cancelled"

MAYOR = "mayor"
