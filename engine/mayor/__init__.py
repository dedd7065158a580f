"""The mayor: the town's coordinator, an agent session the person talks to.

session.py: its tmux session (start, stop, status, screen, tell, attach) — the API the
app and `gt mayor` use; prime.py: its briefing (`gt prime --role mayor`); watch.py: the
witness's eye on it (restart when gone, mail handed over as a nudge when it is idle).
"""
