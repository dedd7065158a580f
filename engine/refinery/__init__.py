"""The refinery: a per-rig merge queue that batches, gates, bisects and lands only green work."""
