"""The chat: messages, the agent's streamed replies, and the box to write in.

One `MessageView` per message. A change notification names the messages it touched, and
only those views are refreshed — once per event-loop turn however many tokens arrived in
between — so a streaming reply never re-renders the rest of the chat. Run statuses come
from `runs_changed`, and a one-second tick while a run is live notices an agent that went
away or stalled.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from wayfarer.agent.daemon import AGENT_PRESENCE
from wayfarer.agent.describe import describe_tool_call
from wayfarer.trip import Message, Run, ToolCall, Trip

from .avatar import Avatar
from .people import PeopleModel
from .run_status import RunStatus, local_clock, run_status
from .trip_model import TripModel

SUGGESTIONS = ("Plan 2 days in Lisbon", "Add a food stop to Day 1", "What does it cost so far?")
_TOOL_MARK = {"running": ("…", "#6b7280"), "ok": ("✓", "#2b8a3e"), "error": ("⚠", "#e03131")}


class Composer(QPlainTextEdit):
    """The message box: Ctrl+Enter sends, Esc asks to stop the agent."""

    submit = Signal()
    escape = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submit.emit()
        elif event.key() == Qt.Key.Key_Escape:
            self.escape.emit()
        else:
            super().keyPressEvent(event)


class StatusChip(QLabel):
    def show_status(self, status: RunStatus | None) -> None:
        if status is None:
            self.hide()
            return
        self.setText(status.text)
        self.setToolTip(status.text)
        self.setProperty("tone", status.tone)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()


class MessageView(QFrame):
    """One message. `show_message` redraws only the parts of it that changed."""

    def __init__(self, message: Message, color: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message_id = message.id
        self.setObjectName("assistantMessage" if message.role == "assistant" else "userMessage")
        self._shown: Message | None = None
        self._tool_rows: dict[str, QLabel] = {}
        self._tool_text: dict[str, str] = {}

        agent = message.role == "assistant"
        avatar = Avatar(message.author_name, color, size=26, agent=agent)
        self.author = QLabel(message.author_name or "Someone")
        self.author.setObjectName("author")
        self.time = QLabel(local_clock(message.created_at))
        self.time.setObjectName("time")
        self.model_label = QLabel()
        self.model_label.setObjectName("time")
        self.model_label.hide()
        self.status = StatusChip()
        self.status.setObjectName("runStatus")
        self.status.hide()
        header = QHBoxLayout()
        header.setSpacing(8)
        header.addWidget(self.author)
        header.addWidget(self.time)
        header.addWidget(self.model_label)
        header.addStretch()
        header.addWidget(self.status)

        self.reasoning_toggle = QToolButton()
        self.reasoning_toggle.setObjectName("reasoningToggle")
        self.reasoning_toggle.setCheckable(True)
        self.reasoning_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasoning_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.reasoning_toggle.setText("Reasoning")
        self.reasoning_toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.reasoning_toggle.toggled.connect(self._toggle_reasoning)
        self.reasoning_toggle.hide()
        self.reasoning = QLabel()
        self.reasoning.setObjectName("reasoning")
        self.reasoning.setWordWrap(True)
        self.reasoning.setTextFormat(Qt.TextFormat.PlainText)
        self.reasoning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reasoning.hide()

        self.body = QLabel()
        self.body.setObjectName("body")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.MarkdownText)
        self.body.setOpenExternalLinks(True)
        self.body.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.body.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.tools = QVBoxLayout()
        self.tools.setSpacing(2)

        column = QVBoxLayout()
        column.setSpacing(4)
        column.addLayout(header)
        column.addWidget(self.reasoning_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.reasoning)
        column.addWidget(self.body)
        column.addLayout(self.tools)

        row = QHBoxLayout(self)
        row.setContentsMargins(12, 10, 12, 10)
        row.setSpacing(10)
        row.addWidget(avatar, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(column, 1)
        self.show_message(message)

    def show_message(self, message: Message) -> None:
        before = self._shown
        self._shown = message
        if before is None or before.text != message.text:
            self.body.setText(message.text)
            self.body.setVisible(bool(message.text))
        if before is None or before.reasoning != message.reasoning:
            self.reasoning.setText(message.reasoning.strip())
            self.reasoning_toggle.setVisible(bool(message.reasoning))
        if before is None or before.tool_calls != message.tool_calls:
            for call in message.tool_calls:
                self._show_tool_call(call)

    def show_status(self, status: RunStatus | None, model: str = "") -> None:
        self.status.show_status(status)
        self.model_label.setText(f"· {model}" if model else "")
        self.model_label.setVisible(bool(model))

    @property
    def text(self) -> str:
        return self._shown.text if self._shown else ""

    def tool_lines(self) -> list[str]:
        """The tool call lines as plain text, e.g. "✓ Added Belém Tower to Day 2"."""
        return [self._tool_text[call.id] for call in (self._shown.tool_calls if self._shown else ())]

    def _show_tool_call(self, call: ToolCall) -> None:
        row = self._tool_rows.get(call.id)
        if row is None:
            row = QLabel()
            row.setObjectName("toolCall")
            row.setWordWrap(True)
            row.setTextFormat(Qt.TextFormat.RichText)
            self._tool_rows[call.id] = row
            self.tools.addWidget(row)
        mark, color = _TOOL_MARK.get(call.status, ("·", "#6b7280"))
        text = describe_tool_call(call)
        self._tool_text[call.id] = f"{mark} {text}"
        row.setText(f'<span style="color:{color}; font-weight:600">{mark}</span>&nbsp;&nbsp;{html.escape(text)}')

    def _toggle_reasoning(self, open_: bool) -> None:
        self.reasoning.setVisible(open_)
        self.reasoning_toggle.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)


class ChatPanel(QWidget):
    """The chat of one trip, for `people.me`. Read-only models get no message box."""

    def __init__(self, model: TripModel, people: PeopleModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatPanel")
        self.model = model
        self.people = people
        self._views: dict[str, MessageView] = {}
        self._names: dict[str, str] = {}
        self._reply_of: dict[str, str] = {}  # run id → assistant message id
        self._trigger_of: dict[str, str] = {}  # run id → user message id
        self._runs: dict[str, Run] = {}
        self._dirty_messages: dict[str, None] = {}  # ordered: new messages append in document order
        self._dirty_runs: set[str] = set()

        # Many tokens may land between two paints: refresh once per event-loop turn.
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self._flush)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_live_statuses)

        self._build()
        self._load()
        model.chat_changed.connect(self._on_chat)
        model.runs_changed.connect(self._on_runs)
        people.changed.connect(self._refresh_live_statuses)

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

        self.message_list = QWidget()
        self.message_list.setObjectName("chatList")
        self.messages = QVBoxLayout(self.message_list)
        self.messages.setContentsMargins(4, 4, 4, 12)
        self.messages.setSpacing(2)
        self.empty = self._empty_state()
        self.messages.addWidget(self.empty)
        self.messages.addStretch()
        self.scroll = QScrollArea()
        self.scroll.setObjectName("chatScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.message_list)
        bar = self.scroll.verticalScrollBar()
        self._stick_to_bottom = True
        bar.valueChanged.connect(lambda value: setattr(self, "_stick_to_bottom", value >= bar.maximum() - 8))
        bar.rangeChanged.connect(lambda _lo, hi: bar.setValue(hi) if self._stick_to_bottom else None)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self._composer_area())

    def _empty_state(self) -> QWidget:
        box = QFrame()
        box.setObjectName("emptyState")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(20, 40, 20, 20)
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
        self.composer.escape.connect(self.stop)
        self.composer.textChanged.connect(self._on_typing)

        self.hint = QLabel("Ctrl+Enter to send")
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
        self._stick_to_bottom = True
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

    def message_view(self, message_id: str) -> MessageView | None:
        return self._views.get(message_id)

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
        self._refresh.start()

    def _on_runs(self, run_ids: frozenset[str]) -> None:
        self._dirty_runs.update(run_ids)
        self._refresh.start()

    def _flush(self) -> None:
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
            view = self._views.get(message_id)
            if view is None:
                self._add_view(message)
            else:
                view.show_message(message)
            if message.run_id:
                runs.add(message.run_id)
        for run_id in runs:
            self._show_run(run_id)
        self._update_controls()

    def _add_view(self, message: Message) -> None:
        self._names.setdefault(message.author, message.author_name)
        # Every agent process has its own author id; they all wear the agent's colour.
        color = AGENT_PRESENCE.color if message.role == "assistant" else self.people.color_of(message.author)
        view = MessageView(message, color)
        self._views[message.id] = view
        self.messages.insertWidget(self.messages.count() - 1, view)
        self.empty.hide()
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
        reply = self._views.get(self._reply_of.get(run_id, ""))
        trigger = self._views.get(self._trigger_of.get(run_id, ""))
        # Before the agent starts its reply, the status sits under the asking message.
        if reply is not None:
            status = run_status(
                run,
                has_output=bool(reply.text),
                agent_absent_for=self.people.agent_absent_for(),
                name_of=self._name_of,
            )
            reply.show_status(status, run.model)
            if trigger is not None:
                trigger.show_status(None)
        elif trigger is not None:
            status = run_status(
                run, has_output=False, agent_absent_for=self.people.agent_absent_for(), name_of=self._name_of
            )
            trigger.show_status(status)

    def _refresh_live_statuses(self) -> None:
        for run in self.live_runs():
            self._show_run(run.id)

    def _name_of(self, person_id: str) -> str | None:
        return self.people.name_of(person_id) or self._names.get(person_id)

    def _update_controls(self) -> None:
        live = bool(self.live_runs()) and not self.model.read_only
        self.stop_button.setVisible(live)
        self.queue_bar.setVisible(live and bool(self.composer.toPlainText().strip()))
        if live and not self._tick.isActive():
            self._tick.start()
        elif not live:
            self._tick.stop()
