"""The chat: messages, the agent's streamed replies, and the box to write in.

The messages are a `ChatView` (one laid-out block per message). A change notification
names the messages it touched, and only those are refreshed, at most once per frame
(`FRAME_MS`) however many tokens arrived in between, so a streaming reply re-lays out
itself only, never the rest of the chat. Run statuses come from `runs_changed`, and a
one-second tick while a run is live notices an agent that went away or stalled.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from wayfarer.agent.daemon import AGENT_PRESENCE
from wayfarer.trip import Message, Run, Trip

from .chat_message import MessageBlock
from .chat_view import ChatView
from .elided_label import ElidedLabel
from .people import PeopleModel
from .run_status import run_status
from .trip_model import TripModel

SUGGESTIONS = ("Plan 2 days in Lisbon", "Add a food stop to Day 1", "What does it cost so far?")
# Tokens arriving within one frame are shown together: a reply at 100 tokens/s is laid out
# 25 times a second, not 100 (and a first token after a pause shows at once).
FRAME_MS = 40


class Composer(QPlainTextEdit):
    """The message box: Ctrl+Enter sends (Esc, which stops the agent, is the window's)."""

    submit = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submit.emit()
        else:
            super().keyPressEvent(event)


class ChatPanel(QWidget):
    """The chat of one trip, for `people.me`. Read-only models get no message box."""

    def __init__(self, model: TripModel, people: PeopleModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatPanel")
        self.model = model
        self.people = people
        self._names: dict[str, str] = {}
        self._colors: dict[str, str] = {}  # person id → the colour their messages wear
        self._reply_of: dict[str, str] = {}  # run id → assistant message id
        self._trigger_of: dict[str, str] = {}  # run id → user message id
        self._runs: dict[str, Run] = {}
        self._dirty_messages: dict[str, None] = {}  # ordered: new messages append in document order
        self._dirty_runs: set[str] = set()

        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.timeout.connect(self._flush)
        self._since_flush = QElapsedTimer()
        self._since_flush.start()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_live_statuses)

        self._build()
        self._load()
        model.chat_changed.connect(self._on_chat)
        model.runs_changed.connect(self._on_runs)
        people.changed.connect(self._on_people)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        title = QLabel("Chat")
        title.setObjectName("panelTitle")
        self.agent_label = QLabel()
        self.agent_label.setObjectName("agentChip")
        self.agent_label.hide()
        header = QHBoxLayout()
        header.setContentsMargins(16, 12, 16, 8)
        header.addWidget(title)
        header.addStretch()
        header.addWidget(self.agent_label)

        self.view = ChatView()
        self.empty = self._empty_state()
        self._pages = QStackedLayout()
        self._pages.addWidget(self.empty)
        self._pages.addWidget(self.view)

        # Esc stops the reply from anywhere in the window; a dialog (its own window) or an
        # inline editor that takes Esc for itself keeps it.
        self.stop_action = QAction("Stop the agent's reply", self)
        self.stop_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.stop_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.stop_action.triggered.connect(self.stop)
        self.stop_action.setEnabled(False)
        self.addAction(self.stop_action)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addLayout(self._pages, 1)
        layout.addWidget(self._composer_area())

    def _empty_state(self) -> QWidget:
        box = QFrame()
        box.setObjectName("emptyState")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(24, 44, 24, 20)
        layout.setSpacing(10)
        heading = QLabel("Plan with Wayfarer")
        heading.setObjectName("emptyTitle")
        text = QLabel("Ask the agent for a plan, or talk with the people on this trip. Try:")
        text.setObjectName("hint")
        text.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(text)
        for suggestion in SUGGESTIONS:
            chip = QPushButton(suggestion)
            chip.setObjectName("suggestion")
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.clicked.connect(lambda _=False, s=suggestion: self._suggest(s))
            chip.setEnabled(not self.model.read_only)
            layout.addWidget(chip, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch()
        return box

    def _composer_area(self) -> QWidget:
        area = QFrame()
        area.setObjectName("composerArea")
        self.queue_bar = QFrame()
        self.queue_bar.setObjectName("queueBar")
        self.queue_text = QLabel("Wayfarer is still replying: Send queues your message.")
        self.queue_text.setWordWrap(True)
        self.stop_and_send_button = QPushButton("Stop and send")
        self.stop_and_send_button.setObjectName("linkButton")
        self.stop_and_send_button.clicked.connect(self.stop_and_send)
        queue_row = QHBoxLayout(self.queue_bar)
        queue_row.setContentsMargins(10, 6, 6, 6)
        queue_row.addWidget(self.queue_text, 1)
        queue_row.addWidget(self.stop_and_send_button)
        self.queue_bar.hide()

        self.composer = Composer()
        self.composer.setObjectName("composer")
        self.composer.setPlaceholderText("Message the trip and Wayfarer…")
        self.composer.setTabChangesFocus(True)
        self.composer.setFixedHeight(76)
        self.composer.submit.connect(self.send)
        self.composer.textChanged.connect(self._on_typing)

        self.hint = ElidedLabel("Ctrl+Enter to send")  # makes room for Stop in a narrow window
        self.hint.setObjectName("hint")
        self.stop_button = QPushButton("■  Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the agent's reply (Esc)")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.hide()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("primary")
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_button.clicked.connect(self.send)
        buttons = QHBoxLayout()
        buttons.addWidget(self.hint)
        buttons.addStretch()
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)

        layout = QVBoxLayout(area)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.setSpacing(6)
        layout.addWidget(self.queue_bar)
        layout.addWidget(self.composer)
        layout.addLayout(buttons)
        if self.model.read_only:
            self.composer.setEnabled(False)
            self.composer.setPlaceholderText("View only: you opened this trip with a viewer link.")
            self.send_button.setEnabled(False)
            self.hint.hide()
        return area

    def set_agent_label(self, label: str) -> None:
        """Which model answers here (e.g. "offline planner"), shown in the header."""
        self.agent_label.setText(f"✦ {label}" if label else "")
        self.agent_label.setVisible(bool(label))

    # ------------------------------------------------------------------ actions

    def send(self) -> None:
        """Post the message box's text; while a run is live the new run simply queues."""
        text = self.composer.toPlainText().strip()
        if not text or self.model.read_only:
            return
        me = self.people.me
        if self.model.apply(lambda trip: trip.post_user_message(text, me)) is not None:
            self._sent()

    def stop(self) -> None:
        """Ask the agent to stop the reply it is working on (or the next queued one)."""
        run = self.active_run()
        if run is not None:
            me = self.people.me
            self.model.apply(lambda trip: trip.request_cancel(run.id, me))

    def stop_and_send(self) -> None:
        """Cancel every live run, then post: the agent answers this message next."""
        text = self.composer.toPlainText().strip()
        if not text or self.model.read_only:
            return
        me, live = self.people.me, self.live_runs()

        def act(trip: Trip) -> tuple[str, str]:
            with trip.batch():
                for run in live:
                    trip.request_cancel(run.id, me)
                return trip.post_user_message(text, me)

        if self.model.apply(act) is not None:
            self._sent()

    def _sent(self) -> None:
        self.view.scroll_to_bottom()
        self.composer.clear()
        self.people.set_activity("idle")

    def _suggest(self, text: str) -> None:
        self.composer.setPlainText(text)
        self.composer.setFocus()

    def _on_typing(self) -> None:
        if self.composer.toPlainText():
            self.people.note_typing()
        else:
            self.people.set_activity("idle")
        self._update_controls()

    # ------------------------------------------------------------------ reads

    def message_view(self, message_id: str) -> MessageBlock | None:
        """The shown message (its text, status, tool lines), once the view has it."""
        return self.view.block(message_id)

    def live_runs(self) -> list[Run]:
        return sorted((r for r in self._runs.values() if r.is_live), key=lambda r: (r.created_at, r.id))

    def active_run(self) -> Run | None:
        live = self.live_runs()
        return next((r for r in live if r.status == "running"), live[0] if live else None)

    # ------------------------------------------------------------------ updates

    def _load(self) -> None:
        snapshot = self.model.snapshot
        for run in snapshot.runs:
            self._remember_run(run)
        for message in snapshot.chat:
            self._add_view(message)
        for run in snapshot.runs:
            self._show_run(run.id)
        self._update_controls()

    def _on_chat(self, added: tuple[str, ...], changed: frozenset[str]) -> None:
        # Inside the document's commit: note what to redraw, read after the commit.
        self._dirty_messages.update(dict.fromkeys(added))
        self._dirty_messages.update(dict.fromkeys(changed))
        self._schedule()

    def _on_runs(self, run_ids: frozenset[str]) -> None:
        self._dirty_runs.update(run_ids)
        self._schedule()

    def _schedule(self) -> None:
        """Flush in the next event-loop turn, or when a frame has passed since the last one."""
        if not self._refresh.isActive():
            self._refresh.start(max(0, FRAME_MS - self._since_flush.elapsed()))

    def _on_people(self) -> None:
        """Someone came, left or changed their colour (this person too, in Settings)."""
        recolored = {person for person, color in self._colors.items() if self.people.color_of(person) != color}
        for person in recolored:
            self._colors[person] = self.people.color_of(person)
        if recolored:
            for block in self.view.blocks():
                if block.message.role != "assistant" and block.message.author in recolored:
                    self.view.set_color(block.message_id, self._colors[block.message.author])
        self._refresh_live_statuses()

    def _flush(self) -> None:
        self._since_flush.restart()
        messages, self._dirty_messages = self._dirty_messages, {}
        runs, self._dirty_runs = self._dirty_runs, set()
        for run_id in runs:
            run = self.model.trip.run(run_id)
            if run is not None:
                self._remember_run(run)
        for message_id in messages:
            message = self.model.trip.message(message_id)
            if message is None:
                continue
            if self.view.block(message_id) is None:
                self._add_view(message)
            else:
                self.view.show_message(message)
            if message.run_id:
                runs.add(message.run_id)
        for run_id in runs:
            self._show_run(run_id)
        self._update_controls()

    def _add_view(self, message: Message) -> None:
        self._names.setdefault(message.author, message.author_name)
        if message.role == "assistant":
            color = AGENT_PRESENCE.color  # every agent process has its own id; all wear the agent's colour
        else:
            color = self._colors.setdefault(message.author, self.people.color_of(message.author))
        self.view.add_message(message, color)
        self._pages.setCurrentWidget(self.view)
        if message.run_id:
            self._reply_of[message.run_id] = message.id

    def _remember_run(self, run: Run) -> None:
        self._runs[run.id] = run
        if run.trigger:
            self._trigger_of[run.id] = run.trigger

    def _show_run(self, run_id: str) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        reply = self.view.block(self._reply_of.get(run_id, ""))
        trigger = self.view.block(self._trigger_of.get(run_id, ""))
        # Before the agent starts its reply, the status sits under the asking message.
        if reply is not None:
            status = run_status(
                run,
                has_output=bool(reply.text),
                agent_absent_for=self.people.agent_absent_for(),
                name_of=self._name_of,
            )
            self.view.show_status(reply.message_id, status, run.model)
            if trigger is not None:
                self.view.show_status(trigger.message_id, None)
        elif trigger is not None:
            status = run_status(
                run, has_output=False, agent_absent_for=self.people.agent_absent_for(), name_of=self._name_of
            )
            self.view.show_status(trigger.message_id, status)

    def _refresh_live_statuses(self) -> None:
        for run in self.live_runs():
            self._show_run(run.id)

    def _name_of(self, person_id: str) -> str | None:
        return self.people.name_of(person_id) or self._names.get(person_id)

    def _update_controls(self) -> None:
        live = bool(self.live_runs()) and not self.model.read_only
        self.stop_button.setVisible(live)
        self.stop_action.setEnabled(live)
        self.queue_bar.setVisible(live and bool(self.composer.toPlainText().strip()))
        if live and not self._tick.isActive():
            self._tick.start()
        elif not live:
            self._tick.stop()
