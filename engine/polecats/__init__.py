"""Polecats: worktrees (git), sessions (tmux), runtimes, and the dispatcher joining them."""
