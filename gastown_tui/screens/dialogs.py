"""Modal dialogs: sling, convoy, mail, nudge, a reason, search, help, a message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    Select,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option

from engine.errors import GtError
from engine.timeutil import relative
from gastown_tui.action_registry import DOES, MOVING_AROUND
from gastown_tui.theme import CELL_MAX, lit

if TYPE_CHECKING:
    from engine.records import Bead, MailMessage


class Dialog(ModalScreen[Any]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]
    DEFAULT_CLASSES = "dialog"

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "ok":
            self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:  # pragma: no cover - overridden
        self.dismiss(None)

    def buttons(self, ok: str) -> Horizontal:
        return Horizontal(
            Button(ok, variant="primary", id="ok"), Button("Cancel", id="cancel"), classes="buttons"
        )


class SlingDialog(Dialog):
    """A new bead (title, rig, priority, labels, dependencies), or ready beads to pick."""

    def __init__(self, rigs: list[str], ready: list[Bead]) -> None:
        super().__init__()
        self.rigs = rigs
        self.ready = ready

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body"):
            yield Label("Sling work", classes="dialog-title")
            yield Input(placeholder="Title of a new bead", id="title")
            with Horizontal(classes="row"):
                yield Select(
                    [(r, r) for r in self.rigs],
                    prompt="rig: placed by capability",
                    id="rig",
                    allow_blank=True,
                )
                yield Select(
                    [(f"P{p}", p) for p in range(5)], value=2, id="priority", allow_blank=False
                )
            yield Input(placeholder="labels, comma separated", id="labels")
            yield Input(placeholder="depends on: bead ids, comma separated", id="deps")
            # what the agent is told beyond the title: the task, the files, what done means
            yield Label("What to do (the agent reads this):", classes="field-label")
            yield TextArea(id="body", classes="sling-body")
            if self.ready:
                yield Label("…or pick a ready bead (enter slings it):")
                yield OptionList(
                    *[
                        Option(
                            lit(f"{b['id']}  P{b['priority']}  {b['title']}", cut=CELL_MAX),
                            id=b["id"],
                        )
                        for b in self.ready[:50]
                    ],
                    id="ready",
                )
            yield self.buttons("Sling")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss({"bead": event.option.id})

    def submit(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        if not title:
            self.notify("Give the new bead a title, or pick a ready bead.", severity="warning")
            return
        rig = self.query_one("#rig", Select).value
        self.dismiss(
            {
                "title": title,
                "rig": rig if isinstance(rig, str) else None,
                "priority": self.query_one("#priority", Select).value,
                "labels": split(self.query_one("#labels", Input).value),
                "deps": split(self.query_one("#deps", Input).value),
                "body": self.query_one("#body", TextArea).text.strip(),
            }
        )


def split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


class TickBox(Checkbox):
    """A checkbox that reads the same in 16 colours: ✓ when on, blank when off.

    Textual's draws an X either way and tells them apart by colour alone, so an unchecked
    "staged" looked checked."""

    def __init__(self, label: str, value: bool = False, *, id: str | None = None) -> None:
        super().__init__(label, value, id=id)
        self.BUTTON_INNER = self.mark()

    def mark(self) -> str:
        return "✓" if self.value else " "

    def watch_value(self) -> None:
        super().watch_value()
        self.BUTTON_INNER = self.mark()


class ConvoyDialog(Dialog):
    def __init__(self, marked: list[str]) -> None:
        super().__init__()
        self.marked = marked

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body"):
            yield Label("Create a convoy", classes="dialog-title")
            yield Input(placeholder="Convoy title", id="title")
            yield Input(
                placeholder="plan file (TOML) — or leave empty to use the beads below", id="plan"
            )
            yield Input(
                value=", ".join(self.marked), placeholder="bead ids, comma separated", id="beads"
            )
            yield TickBox("staged (nothing dispatches until launched)", id="staged")
            yield self.buttons("Create")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def submit(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        plan = self.query_one("#plan", Input).value.strip()
        beads = split(self.query_one("#beads", Input).value)
        if not title:
            self.notify("A convoy needs a title.", severity="warning")
            return
        if not plan and not beads:
            self.notify("Give a plan file or some bead ids.", severity="warning")
            return
        self.dismiss(
            {
                "title": title,
                "plan": plan or None,
                "beads": beads,
                "staged": self.query_one("#staged", Checkbox).value,
            }
        )


# Senders with no mailbox: the town's own notices (the scheduler, the refinery, the town).
# A reply to them would be refused after the person typed it, so none is offered.
def reply_address(sender: str | None) -> str | None:
    """Where a reply to mail from `sender` goes: the sender's address when it has a mailbox
    (the mayor, an agent `rig/polecats/Name`, a rig's witness or refinery), else None."""
    if not sender:
        return None
    if sender.lower() == "mayor" or "/" in sender:
        return sender
    return None


class ComposeDialog(Dialog):
    """A new mail or a reply. With `send`, the dialog sends it itself and closes only once
    it went: a refusal (an unknown address) keeps every word typed, to be corrected."""

    def __init__(
        self,
        to: str = "",
        subject: str = "",
        reply_to: str | None = None,
        send: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
    ) -> None:
        super().__init__()
        self.to, self.subject, self.reply_to = to, subject, reply_to
        self.send = send
        self.sending = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body"):
            yield Label("Reply" if self.reply_to else "New mail", classes="dialog-title")
            yield Input(
                value=self.to,
                placeholder="to: mayor, NAME, RIG/witness, RIG/refinery, RIG/polecats/NAME",
                id="to",
            )
            yield Input(value=self.subject, placeholder="subject", id="subject")
            yield TextArea(id="body")
            yield self.buttons("Send")

    def on_mount(self) -> None:
        # addressed already (a reply): the words go to the body; focus on To would select
        # the address and the first key typed would replace it
        first = "#body" if self.to and self.subject else "#to"
        self.query_one(first).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # enter in a header field moves on to the body; without prevent_default, Dialog's
        # handler would run as well and send the mail before a word of it was written
        event.prevent_default()
        self.query_one("#body", TextArea).focus()

    def submit(self) -> None:
        from engine.addresses import check_message

        to = self.query_one("#to", Input).value.strip()
        subject = self.query_one("#subject", Input).value.strip()
        if not to or not subject:
            self.notify("Mail needs an addressee and a subject.", severity="warning")
            return
        try:
            # the same rule as `gt mail send`: the draft stays open to be corrected
            subject, body = check_message(subject, self.query_one("#body", TextArea).text)
        except GtError as exc:
            self.notify(exc.message, severity="error")
            return
        draft = {"to": to, "subject": subject, "reply_to": self.reply_to, "body": body}
        if self.send is None:
            self.dismiss(draft)
        elif not self.sending:
            self.sending = True
            self.run_worker(self.send_and_close(draft), group="send")

    async def send_and_close(self, draft: dict[str, Any]) -> None:
        assert self.send is not None
        try:
            sent = await self.send(draft)
        except GtError as exc:
            self.notify(exc.message, severity="error")
            return
        finally:
            self.sending = False
        self.dismiss(sent)


class TextDialog(Dialog):
    """One line of text: a nudge, a reason, a search. `check` (e.g. the nudge rule) refuses
    a value with a notification and keeps the dialog open to correct it."""

    def __init__(
        self,
        title: str,
        placeholder: str,
        ok: str,
        value: str = "",
        check: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__()
        self.title_text, self.placeholder, self.ok, self.value = title, placeholder, ok, value
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body"):
            yield Label(lit(self.title_text), classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="text")
            yield self.buttons(self.ok)

    def submit(self) -> None:
        value = self.query_one("#text", Input).value
        if self.check is not None and value.strip():
            try:
                self.check(value.strip())
            except GtError as exc:
                self.notify(exc.message, severity="error")
                return
        self.dismiss(value)


class MessageDialog(Dialog):
    BINDINGS = [Binding("r", "reply", "Reply", id="message.reply")]

    def __init__(self, msg: MailMessage) -> None:
        super().__init__()
        self.msg = msg

    def compose(self) -> ComposeResult:
        m = self.msg
        with Vertical(classes="dialog-body"):
            # an agent's mail: shown literally, control characters visible, the data exact
            yield Label(lit(m["subject"]), classes="dialog-title")
            yield Static(
                Text.assemble(
                    ("From: ", "bold"),
                    lit(m["from"] or "-"),
                    "\n",
                    ("To:   ", "bold"),
                    lit(m["to"] or "-"),
                    "\n",
                    ("Date: ", "bold"),
                    # "3 min ago", then the minute it was sent (no microseconds)
                    f"{relative(m['created_at'])} ({m['created_at'][:16].replace('T', ' ')} UTC)",
                )
            )
            with VerticalScroll(classes="message-body"):
                yield Static(lit(m["body"] or "(no text)", multiline=True))
            replyable = reply_address(m["from"]) is not None
            yield Horizontal(
                Button("Reply", variant="primary", id="ok", disabled=not replyable),
                Button("Close", id="cancel"),
                classes="buttons",
            )

    def action_reply(self) -> None:
        if reply_address(self.msg["from"]) is None:
            # said before a word is typed, and the message stays open
            self.notify(
                f"{self.msg['from'] or 'this sender'} is the town's own notice, with no mailbox "
                "to reply to. Act on it (the bead or agent it names), or m for new mail.",
                severity="warning",
            )
            return
        self.dismiss("reply")

    def submit(self) -> None:
        self.action_reply()


class HelpDialog(Dialog):
    def __init__(self, bindings: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body help"):
            yield Label(Text("Keys (remap them in town.toml under [keys])"), classes="dialog-title")
            text = Text()
            text.append("Moving around\n", style="bold underline")
            for key, what in MOVING_AROUND:
                text.append(f"{key:>12}  ", style="bold cyan")
                text.append(f"{what}\n")
            text.append("\nActions (the id in [ ] is what [keys] remaps)\n", style="bold underline")
            # the label column as wide as the longest label: "Ack escalation" must not run
            # into its sentence
            width = max((len(label) for _, label, _ in self.rows), default=0) + 2
            for key, label, ident in self.rows:
                text.append(f"{key:>12}  ", style="bold cyan")
                text.append(label.ljust(width))
                text.append(DOES.get(ident, ""))
                text.append(f"  [{ident}]\n", style="dim")
            with VerticalScroll():
                yield Static(text)
            yield Horizontal(Button("Close", id="cancel"), classes="buttons")


class ConfirmDialog(Dialog):
    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body"):
            yield Label(lit(self.question), classes="dialog-title")
            yield self.buttons("Yes")

    def submit(self) -> None:
        self.dismiss(True)
