"""The window of one open trip: a header (title, people, sync, share) over chat | board | map
and budget. Every panel is a view of the same `TripModel`; the window only composes them
and hosts what belongs to no panel (menus, errors, links)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeyEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from wayfarer.sync.status import SyncStatus

from .about import show_about
from .board import ItineraryBoard
from .budget_panel import BudgetPanel
from .chat_panel import ChatPanel
from .map_view import MapView
from .people import PeopleModel
from .presence_bar import PresenceBar
from .selection import StopSelection
from .sync_indicator import SyncIndicator
from .text_keys import text_keeps
from .trip_model import TripModel

ERROR_SHOWN_MS = 10_000
CHAT_MIN_WIDTH, CHAT_MAX_WIDTH = 320, 440
UNTITLED = "Loading trip…"


@dataclass(frozen=True)
class ShareLinks:
    """Links this window can hand out; None where this person cannot make one (a viewer
    has no editor link, and only a relay's key holder can mint a viewer link)."""

    editor: str | None = None
    viewer: str | None = None


class MainWindow(QMainWindow):
    closed = Signal()
    start_screen_requested = Signal()
    settings_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self,
        model: TripModel,
        people: PeopleModel,
        *,
        links: ShareLinks = ShareLinks(),
        agent_label: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.people = people
        self.links = links
        self.selection = StopSelection(self)
        self._laid_out = False
        self.resize(1400, 900)

        self.chat = ChatPanel(model, people)
        self.chat.set_agent_label(agent_label)
        self.board = ItineraryBoard(model, self.selection)
        self.map = MapView(model, self.selection)
        self.budget = BudgetPanel(model)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._header())
        layout.addWidget(self._banners())
        layout.addWidget(self._body(), 1)
        self.setCentralWidget(central)
        self._menus()
        self.statusBar().setSizeGripEnabled(False)
        self.statusBar().hide()

        model.meta_changed.connect(self._show_title)
        model.error.connect(self.show_error)
        self._show_title()

    # ------------------------------------------------------------------ layout

    def _header(self) -> QWidget:
        header = QFrame()
        header.setObjectName("header")
        self.title = QLineEdit()
        self.title.setObjectName("tripTitle")
        self.title.setPlaceholderText("Trip name")
        self.title.setMinimumWidth(260)
        self.title.setReadOnly(self.model.read_only)
        # Renaming is a deliberate click away: a window must not open with its caret in the title.
        self.title.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.title.setToolTip("" if self.model.read_only else "Rename the trip")
        self.title.editingFinished.connect(self._rename)
        self.presence = PresenceBar(self.people)
        self.sync = SyncIndicator()
        self.share = QToolButton()
        self.share.setObjectName("shareButton")
        self.share.setText("Share  ▾")
        self.share.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.share.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        share_menu = QMenu(self.share)
        self.copy_editor = share_menu.addAction("Copy editor link", lambda: self._copy(self.links.editor, "Editor"))
        self.copy_viewer = share_menu.addAction("Copy viewer link", lambda: self._copy(self.links.viewer, "Viewer"))
        self.copy_editor.setEnabled(self.links.editor is not None)
        self.copy_viewer.setEnabled(self.links.viewer is not None)
        self.share.setMenu(share_menu)
        self.share.setEnabled(self.links.editor is not None or self.links.viewer is not None)
        self.share.setToolTip("Copy a link that lets others join this trip")

        row = QHBoxLayout(header)
        row.setContentsMargins(14, 8, 16, 8)
        row.setSpacing(14)
        row.addWidget(self.title, 1)
        row.addWidget(self.presence)
        row.addWidget(_divider())
        row.addWidget(self.sync)
        row.addWidget(self.share)
        return header

    def _banners(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.viewer_banner = _banner(
            "viewerBanner", "View only: you joined with a viewer link, so you can follow along but not edit."
        )
        self.viewer_banner.setVisible(self.model.read_only)
        self.error_banner = _banner("banner", "")
        self.error_text = self.error_banner.findChild(QLabel)
        dismiss = QPushButton("Dismiss")
        dismiss.setObjectName("linkButton")
        dismiss.clicked.connect(lambda: self.error_banner.hide())
        self.error_banner.layout().addWidget(dismiss)
        self.error_banner.hide()
        self._error_timer = QTimer(self)
        self._error_timer.setSingleShot(True)
        self._error_timer.setInterval(ERROR_SHOWN_MS)
        self._error_timer.timeout.connect(self.error_banner.hide)
        column.addWidget(self.viewer_banner)
        column.addWidget(self.error_banner)
        return box

    def _body(self) -> QSplitter:
        right = QSplitter(Qt.Orientation.Vertical)
        right.setChildrenCollapsible(False)
        right.addWidget(_card(self.map))
        right.addWidget(_card(self.budget))
        right.setSizes([560, 300])
        body = QSplitter(Qt.Orientation.Horizontal)
        body.setChildrenCollapsible(False)
        body.setHandleWidth(1)
        body.addWidget(_card(self.chat, left=8))
        body.addWidget(_card(self.board))
        body.addWidget(right)
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        body.setStretchFactor(2, 1)
        self.splitter = body
        return body

    def _menus(self) -> None:
        bar = self.menuBar()
        trip = bar.addMenu("&Trip")
        trip.addAction(self._action("Open or create a trip…", "Ctrl+O", self.start_screen_requested.emit))
        trip.addSeparator()
        trip.addAction(self.copy_editor)
        trip.addAction(self.copy_viewer)
        trip.addSeparator()
        trip.addAction(self._action("Close window", "Ctrl+W", self.close))
        trip.addAction(self._action("Quit Wayfarer", "Ctrl+Q", self.quit_requested.emit))
        edit = bar.addMenu("&Edit")
        # The board's own actions, whose shortcuts are the window's (see `event` for the
        # text fields); a second Ctrl+Z action here would make the key ambiguous.
        edit.addAction(self.board.undo_action)
        edit.addAction(self.board.redo_action)
        edit.addSeparator()
        edit.addAction(self._action("Settings…", "Ctrl+,", self.settings_requested.emit))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("About Wayfarer", "", lambda: show_about(self)))

    def _action(self, text: str, shortcut: str, slot: object) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    # ------------------------------------------------------------------ behaviour

    def show_sync(self, status: SyncStatus) -> None:
        self.sync.show_status(status)

    def show_error(self, text: str) -> None:
        self.error_text.setText(text)
        self.error_banner.show()
        self._error_timer.start()

    def show_message(self, text: str) -> None:
        """A passing note (e.g. "Editor link copied") that needs no action."""
        self.statusBar().show()
        self.statusBar().showMessage(text, 5000)
        QTimer.singleShot(5000, self.statusBar().hide)

    def _show_title(self) -> None:
        title = self.model.snapshot.meta.title
        if not self.title.isModified():  # never overwrite a rename being typed
            self.title.setText(title)
        self.setWindowTitle(f"{title or UNTITLED} — Wayfarer")

    def _rename(self) -> None:
        current = self.model.snapshot.meta.title
        wanted = self.title.text().strip()
        if not wanted:
            self.title.setText(current)
        elif wanted != current:
            self.model.apply(lambda trip: trip.set_title(wanted))
        self.title.setText(self.model.snapshot.meta.title)  # shows a refused rename undone

    def _copy(self, link: str | None, kind: str) -> None:
        if link is None:
            return
        QGuiApplication.clipboard().setText(link)
        who = "edit this trip" if kind == "Editor" else "follow this trip without editing"
        self.show_message(f"{kind} link copied: anyone with it can {who}.")

    def event(self, event: QEvent) -> bool:
        # A key no widget claimed before the window's shortcuts get it: undo and redo in a
        # text field are the field's, even on platforms whose fields do not use that key.
        override = event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
        if override and text_keeps(event, QApplication.focusWidget()):  # type: ignore[arg-type]
            event.accept()
            return True
        return super().event(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._laid_out:
            # Only now is the real width known; sizes set earlier get scaled from a guess.
            self._laid_out = True
            width = self.splitter.width()
            chat = max(CHAT_MIN_WIDTH, min(CHAT_MAX_WIDTH, int(width * 0.28)))
            board = (width - chat) * 47 // 100
            self.splitter.setSizes([chat, board, width - chat - board])
            if not self.model.read_only:
                self.chat.composer.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()


def _card(widget: QWidget, *, left: int = 6) -> QFrame:
    """Panels sit on the window background as white cards with a hairline border."""
    frame = QFrame()
    frame.setObjectName("panel")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(1, 1, 1, 1)
    layout.addWidget(widget)
    outer = QFrame()
    outer_layout = QVBoxLayout(outer)
    outer_layout.setContentsMargins(left, 8, 6, 8)
    outer_layout.addWidget(frame)
    return outer


def _banner(name: str, text: str) -> QFrame:
    frame = QFrame()
    frame.setObjectName(name)
    label = QLabel(text)
    label.setWordWrap(True)
    row = QHBoxLayout(frame)
    row.setContentsMargins(16, 6, 12, 6)
    row.addWidget(label, 1)
    return frame


def _divider() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setStyleSheet("color: #e3e6ea;")
    return line

