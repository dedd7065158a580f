"""The Gas Town app: a keyboard-driven Textual view of the whole town."""
