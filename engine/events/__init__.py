"""Every kind of event the ledger records, in one registry: kind -> a past-tense class.

An event row is (id, at, bead_id, kind, actor, attempt, data); each class documents
one `kind`, and its annotations are the keys of its `data`, as typed attributes (a key that
is a Python keyword gets a trailing underscore: `from` is `from_`). `record_event` refuses
a kind that is not registered here, so a new kind cannot be written without being listed
(tests/test_typed_domain.py also scans engine/ for every kind the code passes).

`from_row` turns a ledger row into its class's object (the event stream, `gt events` and
the app read these); `to_row` gives the row back unchanged: keys a class does not document
are kept in `extra`, a documented key the row lacks reads as None, and a kind this code
does not know (an older or newer ledger) becomes an `UnknownEvent`, never an exception.

The machinery is in base.py, the kinds in bead_events.py and town_events.py: all are
imported here, so the registry is complete whenever `engine.events` is.
"""

from engine.events.base import *  # noqa: F403
from engine.events.bead_events import *  # noqa: F403
from engine.events.deacon_events import *  # noqa: F403
from engine.events.escalation_events import *  # noqa: F403
from engine.events.host_events import *  # noqa: F403
from engine.events.mayor_events import *  # noqa: F403
from engine.events.town_events import *  # noqa: F403
