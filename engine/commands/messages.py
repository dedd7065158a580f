"""Mail: send a message (a reply names the message it answers) and read one.

Counting and listing a mailbox are reads: `gt mail check/inbox` ask the ledger directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import MailMessage


class MailSend(NamedTuple):
    """Make it with `MailSend.of`, which refuses bad text before anything else happens."""

    to: str  # an address as a person writes it: mayor, NAME, RIG/witness, RIG/polecats/NAME
    subject: str
    body: str = ""
    reply_to: str | None = None  # the message this answers

    @classmethod
    def of(cls, to: str, subject: str, body: str = "", reply_to: str | None = None) -> MailSend:
        from engine.addresses import check_message

        subject, body = check_message(subject, body)
        return cls(to, subject, body, reply_to)


class Message(NamedTuple):
    id: str
    to: str  # the canonical address it was delivered to
    sender: str | None
    subject: str
    read: bool
    record: MailMessage  # the ledger's message: what `--json` prints

    @classmethod
    def of(cls, record: MailMessage) -> Message:
        return cls(
            record["id"],
            record["to"],  # type: ignore[arg-type]  # a message always has an addressee
            record["from"],
            record["subject"],
            record["read"],
            record,
        )

    def as_dict(self) -> MailMessage:
        """The documented JSON shape (`gt mail send|read --json`)."""
        return self.record


def send(ledger: Ledger, request: MailSend, *, sender: str) -> Message:
    """Deliver to one canonical address. The text is checked however the request was made:
    agents mail the mayor, and their text reaches a person's terminal."""
    from engine.addresses import check_message, resolve_address

    subject, body = check_message(request.subject, request.body)
    with ledger.transaction(durable=True):  # a person was told it was sent
        to = resolve_address(ledger, request.to)
        record = ledger.mail.send(
            sender=sender, to=to, subject=subject, body=body, reply_to=request.reply_to
        )
    return Message.of(record)


def read(ledger: Ledger, mail_id: str, *, reader: str) -> Message:
    """The message, marked read by `reader` (reading it again changes nothing)."""
    with ledger.transaction():
        return Message.of(ledger.mail.mark_read(mail_id, reader=reader))
