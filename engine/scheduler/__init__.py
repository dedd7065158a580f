"""The scheduler: lazy assignment of ready beads to polecats (DESIGN.md §5)."""
