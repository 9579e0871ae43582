"""The start screen: the trips on this computer, a new one, or joining one from a link.

It edits the `TripLibrary` itself (create, delete) and asks the app to open trips through
its signals; it never opens documents.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wayfarer.sync.library import TripInfo, TripLibrary
from wayfarer.sync.links import TripLink
from wayfarer.sync.updatelog import StoreError
from wayfarer.trip import TripError

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "AUD", "CAD", "SEK", "NOK", "DKK", "PLN", "CZK", "INR", "KRW")


def ago(when: _dt.datetime, now: _dt.datetime | None = None) -> str:
    """"just now", "5 minutes ago", "yesterday", "3 Mar 2026"."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes > 1 else ''} ago"
    if seconds < 86400:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours > 1 else ''} ago"
    if seconds < 2 * 86400:
        return "yesterday"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} days ago"
    return when.astimezone().strftime("%d %b %Y").lstrip("0")


class TripRow(QWidget):
    def __init__(self, info: TripInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel(info.title or ("Damaged trip" if info.problem else "Untitled trip (not synced yet)"))
        title.setObjectName("author")
        when = QLabel(f"changed {ago(info.modified)}")
        when.setObjectName("hint")
        detail = QLabel(self._detail(info))
        detail.setObjectName("error" if info.problem else "hint")
        detail.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(title, 1)
        top.addWidget(when)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(detail)

    @staticmethod
    def _detail(info: TripInfo) -> str:
        if info.problem:
            return f"Cannot be opened: {info.problem}"
        if info.link:
            try:
                link = TripLink.parse(info.link)
                role = "view only" if link.role == "viewer" else "shared"
                if urlsplit(link.relay_url).hostname in ("127.0.0.1", "localhost", "::1"):
                    return f"{role} on this computer · embedded relay"
                return f"{role} · via {link.relay_url}"
            except ValueError:
                return "shared"
        return "on this computer only"


class StartScreen(QWidget):
    open_requested = Signal(str)  # trip id
    join_requested = Signal(object)  # TripLink
    settings_requested = Signal()
    closed = Signal()

    def __init__(
        self,
        library: TripLibrary,
        *,
        is_open: Callable[[str], bool] = lambda trip_id: False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("startScreen")
        self.setWindowTitle("Wayfarer")
        self.library = library
        self._is_open = is_open
        self._infos: list[TripInfo] = []
        self._build()
        self.refresh()

    def _build(self) -> None:
        brand = QLabel("Wayfarer")
        brand.setObjectName("brand")
        tagline = QLabel("Plan trips together with an AI agent. Works offline; syncs when you are back.")
        tagline.setObjectName("hint")
        settings = QPushButton("Settings…")
        settings.clicked.connect(self.settings_requested)
        top = QHBoxLayout()
        top.addWidget(brand)
        top.addStretch()
        top.addWidget(settings)

        self.new_title = QLineEdit()
        self.new_title.setPlaceholderText("Name a new trip, e.g. Lisbon in spring")
        self.new_title.returnPressed.connect(self.create_trip)
        self.currency = QComboBox()
        self.currency.addItems(CURRENCIES)
        self.currency.setToolTip("The currency of costs and the budget")
        self.create_button = QPushButton("Create trip")
        self.create_button.setObjectName("primary")
        self.create_button.clicked.connect(self.create_trip)
        create_row = QHBoxLayout()
        create_row.addWidget(self.new_title, 1)
        create_row.addWidget(self.currency)
        create_row.addWidget(self.create_button)
        self.create_error = _error_label()

        self.trips = QListWidget()
        self.trips.setObjectName("tripList")
        self.trips.setSpacing(2)
        self.trips.itemDoubleClicked.connect(lambda _item: self.open_selected())
        self.trips.itemSelectionChanged.connect(self._update_buttons)
        self.empty = QLabel("No trips yet. Create one above, or join one with a link below.")
        self.empty.setObjectName("placeholder")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton("Open")
        self.open_button.setObjectName("primary")
        self.open_button.clicked.connect(self.open_selected)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("danger")
        self.delete_button.clicked.connect(self.delete_selected)
        self.list_error = _error_label()
        list_buttons = QHBoxLayout()
        list_buttons.addWidget(self.list_error, 1)
        list_buttons.addStretch()
        list_buttons.addWidget(self.delete_button)
        list_buttons.addWidget(self.open_button)

        self.link = QLineEdit()
        self.link.setPlaceholderText("Paste a trip link: ws://host:port/trip?token=…")
        self.link.returnPressed.connect(self.join)
        self.join_button = QPushButton("Join")
        self.join_button.clicked.connect(self.join)
        join_row = QHBoxLayout()
        join_row.addWidget(self.link, 1)
        join_row.addWidget(self.join_button)
        self.join_error = _error_label()

        self.error = _error_label()
        self.error.setObjectName("startError")

        column = QVBoxLayout()
        column.setSpacing(8)
        column.addLayout(top)
        column.addWidget(tagline)
        column.addWidget(self.error)
        column.addSpacing(14)
        column.addWidget(_section("New trip"))
        column.addLayout(create_row)
        column.addWidget(self.create_error)
        column.addSpacing(6)
        column.addWidget(_section("Your trips"))
        column.addWidget(self.trips, 1)
        column.addWidget(self.empty, 1)
        column.addLayout(list_buttons)
        column.addSpacing(6)
        column.addWidget(_section("Join a trip"))
        column.addLayout(join_row)
        column.addWidget(self.join_error)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(40, 32, 40, 28)
        outer.addStretch(1)
        outer.addLayout(column, 8)
        outer.addStretch(1)

    def show_error(self, text: str) -> None:
        """A problem from elsewhere (a trip that failed to open), or "" to clear it."""
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()

    # ------------------------------------------------------------------ list

    def refresh(self) -> None:
        self._infos = self.library.list()
        self.trips.clear()
        for info in self._infos:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            row = TripRow(info)
            item.setSizeHint(row.sizeHint())
            self.trips.addItem(item)
            self.trips.setItemWidget(item, row)
        if self._infos:
            self.trips.setCurrentRow(0)
        self.trips.setVisible(bool(self._infos))
        self.empty.setVisible(not self._infos)
        self._update_buttons()

    def titles(self) -> list[str]:
        return [info.title for info in self._infos]

    def selected(self) -> TripInfo | None:
        row = self.trips.currentRow()
        return self._infos[row] if 0 <= row < len(self._infos) and self.trips.selectedItems() else None

    def select(self, trip_id: str) -> None:
        for row, info in enumerate(self._infos):
            if info.id == trip_id:
                self.trips.setCurrentRow(row)

    # ------------------------------------------------------------------ actions

    def create_trip(self) -> None:
        title = self.new_title.text().strip()
        if not title:
            _show(self.create_error, "Give the trip a name first.")
            return
        try:
            info = self.library.create(title, self.currency.currentText())
        except (TripError, StoreError) as exc:
            _show(self.create_error, f"Could not create the trip: {exc}")
            return
        self.create_error.hide()
        self.new_title.clear()
        self.refresh()
        self.open_requested.emit(info.id)

    def open_selected(self) -> None:
        info = self.selected()
        if info is None:
            return
        if info.problem:
            _show(self.list_error, f"“{info.title or info.id}” cannot be opened: {info.problem}")
            return
        self.open_requested.emit(info.id)

    def delete_selected(self) -> None:
        info = self.selected()
        if info is None:
            return
        name = info.title or info.id
        if self._is_open(info.id):
            _show(self.list_error, f"“{name}” is open in a window: close it first.")
            return
        if not self.confirm_delete(name, shared=bool(info.link)):
            return
        try:
            self.library.delete(info.id)
        except StoreError as exc:
            _show(self.list_error, f"Could not delete “{name}”: {exc.message}")
            return
        self.list_error.hide()
        self.refresh()

    def confirm_delete(self, name: str, *, shared: bool) -> bool:
        others = " Others keep their copies, and you can join again with its link." if shared else ""
        answer = QMessageBox.question(
            self,
            "Delete trip",
            f"Delete “{name}” from this computer?{others}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def join(self) -> None:
        text = self.link.text().strip()
        if not text:
            _show(self.join_error, "Paste the link someone shared with you.")
            return
        try:
            link = TripLink.parse(text)
            link.role  # reading it checks that the token's claims are readable
        except ValueError as exc:
            _show(self.join_error, f"That is not a usable trip link: {exc}")
            return
        self.join_error.hide()
        self.link.clear()
        self.join_requested.emit(link)

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        self.open_button.setEnabled(has)
        self.delete_button.setEnabled(has)


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("section")
    return label


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("error")
    label.setWordWrap(True)
    label.hide()
    return label


def _show(label: QLabel, text: str) -> None:
    label.setText(text)
    label.show()
