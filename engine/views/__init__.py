"""Read models for views (the app): plain data built from the ledger, no UI toolkit."""
