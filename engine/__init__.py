"""Gas Town engine: the headless core (ledger, scheduler, polecats, refinery).

Kept import-light on purpose: `gt` is called by agents constantly, so importing the
package must not pull in anything heavy (no pydantic, no asyncio, no textual/rich).
"""

__version__ = "0.1.0"
