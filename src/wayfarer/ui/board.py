"""The itinerary board: the trip's days in order, each with its stops, then "Unscheduled".

Why a `QTreeView` over a `QAbstractItemModel` (`ItineraryItems`) rather than a column of
widgets: the view brings drag and drop with a drop indicator and auto-scroll, keyboard
navigation, `scrollTo` and a selection model; the model's row signals let one stop's edit
repaint one row instead of rebuilding widgets, and a delegate paints days and stops as
cards at any count of stops without a widget per stop. A drop is one `move_stop` or
`move_day` call on the trip (`ItineraryItems.dropMimeData`); the rows then move because
the document changed, like they do for anyone else's move.

A stop is edited in place: its card turns into fields (`board_editor`); its location, and
a new stop, take the full form (`StopForm`), a day its small form (`DayForm`). Deleting is
immediate and undoable, with an "Undo" offered in place. Undo and redo go through `TripModel` and only ever undo
this person's own edits; their shortcuts work anywhere in the window (a text field that
has the focus keeps them for its own text, see `text_keys`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPoint, QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QFont, QKeySequence, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from wayfarer.trip import TripSnapshot

from . import style
from .board_delegate import chevron_rect
from .board_editor import EditingDelegate, StopCardEditor
from .board_items import ItineraryItems, Role
from .edits import apply_edit
from .icons import icon
from .selection import StopSelection
from .stop_editor import DayForm, StopForm
from .text_keys import REDO_KEYS, UNDO_KEYS
from .trip_model import TripModel

_NOTICE_MS = 8000


class _BoardTree(QTreeView):
    """The board's tree: cards instead of branches, a day toggles on its arrow."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setIndentation(0)
        self.setRootIsDecorated(False)
        self.setExpandsOnDoubleClick(False)
        self.setUniformRowHeights(False)
        self.setMouseTracking(True)  # hovered cards
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.empty_text = ""

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and not index.parent().isValid():
            if chevron_rect(QRectF(self.visualRect(index))).contains(event.position()):
                self.setExpanded(index, not self.isExpanded(index))
                return
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.empty_text:
            return
        painter = QPainter(self.viewport())
        area = QRectF(self.viewport().rect()).adjusted(32, 0, -32, 0)
        top = area.height() * 0.3
        centered = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.setFont(style.ui_font(12.0, QFont.Weight.DemiBold))
        painter.setPen(style.TEXT)
        painter.drawText(QRectF(area.left(), top, area.width(), 28), centered, "No plan yet")
        painter.setFont(style.ui_font(10.0))
        painter.setPen(style.TEXT_MUTED)
        painter.drawText(QRectF(area.left(), top + 30, area.width(), area.height() - top - 30), centered, self.empty_text)


class ItineraryBoard(QWidget):
    """The day-by-day plan of one trip; edits go to the trip, rows follow its changes."""

    def __init__(self, model: TripModel, selection: StopSelection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._selection = selection
        self._syncing = False  # rows change under the view: not a person's selection
        self._collapsed: set[str] = set()  # day ids folded by this person (view state)
        self.setObjectName("itineraryBoard")
        self.setStyleSheet(_BOARD_STYLE)

        self.items = ItineraryItems(model, self)
        self.tree = _BoardTree(self)
        self.delegate = EditingDelegate(self.tree, model)
        self.tree.setItemDelegate(self.delegate)
        self.tree.setModel(self.items)
        editable = not model.read_only
        # DragDrop, not InternalMove: another window on the same trip may drop a stop here
        # too; the model only accepts stops and days this trip has.
        self.tree.setDragDropMode(
            QAbstractItemView.DragDropMode.DragDrop if editable else QAbstractItemView.DragDropMode.NoDragDrop
        )
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

        window = Qt.ShortcutContext.WindowShortcut
        self.undo_action = self._action("Undo", "undo", list(UNDO_KEYS), self.undo, window)
        self.redo_action = self._action("Redo", "redo", list(REDO_KEYS), self.redo, window)
        self.delete_action = self._action("Delete", "trash", [QKeySequence.StandardKey.Delete], self.delete_selected)
        self.edit_action = self._action("Edit…", "edit", [QKeySequence("F2"), QKeySequence("Return")], self.edit_selected)
        self.add_day_button = QPushButton(icon("plus"), "Day", objectName="secondary")
        self.add_day_button.setToolTip("Add a day at the end of the trip")
        self.add_day_button.clicked.connect(self.add_day)
        self.add_stop_button = QPushButton(icon("plus", style.SURFACE), "Stop", objectName="primary")
        self.add_stop_button.setToolTip("Add a stop to the selected day")
        self.add_stop_button.clicked.connect(self.add_stop)
        for button in (self.add_day_button, self.add_stop_button):
            button.setEnabled(editable)

        self.title = QLabel("Itinerary", objectName="title")
        self.summary = QLabel(objectName="summary", wordWrap=True)  # wraps rather than widen a narrow window
        view_only = QLabel("View only", objectName="viewOnly")
        view_only.setVisible(model.read_only)
        self.notice = QLabel(objectName="notice", wordWrap=True)
        self.notice_undo = QPushButton("Undo", objectName="link")
        self.notice_undo.clicked.connect(self._undo_from_notice)
        self._notice_bar = QFrame(objectName="noticeBar")
        self._notice_bar.hide()
        self._notice_timer = QTimer(self, singleShot=True, interval=_NOTICE_MS)
        self._notice_timer.timeout.connect(self._notice_bar.hide)
        self._layout(view_only)

        self.items.modelReset.connect(self._expand_days)
        self.items.refused.connect(lambda message: self.show_notice(message, undoable=False))
        self.delegate.refused.connect(lambda message: self.show_notice(message, undoable=False))
        self.delegate.details_requested.connect(self.edit_stop_details)
        self.tree.expanded.connect(lambda index: self._collapsed.discard(self.items.day_id_at(index) or ""))
        self.tree.collapsed.connect(lambda index: self._collapsed.add(self.items.day_id_at(index) or ""))
        self.tree.selectionModel().currentChanged.connect(self._on_current)
        self.tree.doubleClicked.connect(self._edit_index)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        model.itinerary_changed.connect(self._on_itinerary)
        model.meta_changed.connect(lambda: self.items.set_currency(model.snapshot.meta.currency))
        model.budget_changed.connect(self._refresh_actions_later)
        model.meta_changed.connect(self._refresh_actions_later)  # a rename is undoable too
        selection.changed.connect(self._show_selection)

        self._expand_days()
        self._refresh(model.snapshot)
        self._refresh_actions()
        self._show_selection(selection.stop_id)

    # ------------------------------------------------------------------ layout

    def _action(
        self,
        text: str,
        icon_name: str,
        keys: list[QKeySequence],
        slot: Callable[[], object],
        context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut,
    ) -> QAction:
        """An action of the board; by default its keys (Delete, Return) act only while the
        board has the focus."""
        action = QAction(icon(icon_name), text, self)
        action.setShortcuts(keys)
        action.setShortcutContext(context)
        action.triggered.connect(slot)
        action.setEnabled(not self._model.read_only)
        self.addAction(action)
        return action

    def _layout(self, view_only: QLabel) -> None:
        header = QHBoxLayout()
        header.setContentsMargins(16, 14, 12, 8)
        header.setSpacing(6)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        title_row = QHBoxLayout()
        title_row.setSpacing(8)
        title_row.addWidget(self.title)
        title_row.addWidget(view_only)
        title_row.addStretch()
        titles.addLayout(title_row)
        titles.addWidget(self.summary)
        header.addLayout(titles, 1)
        for action in (self.undo_action, self.redo_action):
            button = QToolButton(objectName="iconButton")
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            header.addWidget(button)
        header.addSpacing(6)
        header.addWidget(self.add_day_button)
        header.addWidget(self.add_stop_button)

        notice_row = QHBoxLayout(self._notice_bar)
        notice_row.setContentsMargins(14, 8, 10, 8)
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.notice_undo)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self._notice_bar)

    # ------------------------------------------------------------------ following the trip

    def _on_itinerary(self, days: frozenset[str], stops: frozenset[str]) -> None:
        snapshot = self._model.snapshot
        self._syncing = True
        try:
            self.items.sync(snapshot, days, stops)
            self._restore_current()
        finally:
            self._syncing = False
        self._refresh(snapshot)
        self._refresh_actions_later()

    def _refresh(self, snapshot: TripSnapshot) -> None:
        days, stops = len(snapshot.days), len(snapshot.stops)
        parts = [f"{days} day" + ("" if days == 1 else "s"), f"{stops} stop" + ("" if stops == 1 else "s")]
        if snapshot.unscheduled:
            parts.append(f"{len(snapshot.unscheduled)} unscheduled")
        self.summary.setText(" · ".join(parts))
        empty = not (days or stops)
        # An empty trip shows what to do, not an empty "Unscheduled" drop zone.
        self.tree.setRowHidden(self.items.rowCount() - 1, QModelIndex(), empty)
        if not empty:
            self.tree.empty_text = ""
        elif self._model.read_only:
            self.tree.empty_text = "Nobody has planned anything yet."
        else:
            self.tree.empty_text = "Ask the agent in the chat for a plan,\nor add a day and its stops yourself."
        self.tree.viewport().update()

    def _expand_days(self) -> None:
        for row in range(self.items.rowCount()):
            index = self.items.index(row, 0)
            self.tree.setExpanded(index, (self.items.day_id_at(index) or "") not in self._collapsed)

    def _refresh_actions_later(self) -> None:
        # The undo manager files an edit after the transaction that notified us.
        QTimer.singleShot(0, self._refresh_actions)

    def _refresh_actions(self) -> None:
        self.undo_action.setEnabled(self._model.can_undo())
        self.redo_action.setEnabled(self._model.can_redo())

    # ------------------------------------------------------------------ selection

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing:
            return
        stop = self.items.stop_at(current)
        self._selection.select(stop.id if stop is not None else "")

    def _show_selection(self, stop_id: str) -> None:
        index = self.items.index_of_stop(stop_id) if stop_id else QModelIndex()
        if index.isValid():
            self.tree.expand(index.parent())
            self.tree.setCurrentIndex(index)
            self.tree.scrollTo(index)
        elif self.items.stop_at(self.tree.currentIndex()) is not None:
            self.tree.setCurrentIndex(QModelIndex())

    def _restore_current(self) -> None:
        """After rows moved: the highlighted row is the selected stop's, wherever it went."""
        stop_id = self._selection.stop_id
        index = self.items.index_of_stop(stop_id) if stop_id else QModelIndex()
        if index.isValid() and index != self.tree.currentIndex():
            self.tree.setCurrentIndex(index)
        elif not index.isValid() and self.items.stop_at(self.tree.currentIndex()) is not None:
            self.tree.setCurrentIndex(QModelIndex())

    # ------------------------------------------------------------------ edits

    def undo(self) -> None:
        self._model.undo()
        self._refresh_actions_later()

    def redo(self) -> None:
        self._model.redo()
        self._refresh_actions_later()

    def add_day(self) -> None:
        days = self._model.snapshot.days
        date = _next_date(days[-1].date) if days else ""
        apply_edit(self._model, lambda trip: trip.add_day(date=date))

    def add_stop(self) -> StopForm | None:
        """Open a form for a new stop in the selected day (else the last day)."""
        if self._model.read_only:
            return None
        snapshot = self._model.snapshot
        day_id = self.items.day_id_at(self.tree.currentIndex())
        if day_id is None:
            day_id = snapshot.days[-1].id if snapshot.days else ""
        nearby = snapshot.stops_in(day_id) or snapshot.stops
        near = (
            (sum(s.lat for s in nearby) / len(nearby), sum(s.lon for s in nearby) / len(nearby)) if nearby else None
        )
        form = StopForm(self._model, None, day_id=day_id, near=near, parent=self)
        form.accepted.connect(lambda: self._selection.select(form.created))
        return self._open(form)

    def edit_selected(self) -> QWidget | None:
        return self._edit_index(self.tree.currentIndex())

    def edit_stop(self, stop_id: str) -> StopCardEditor | None:
        """Turn the stop's card into fields, in place; None for a viewer."""
        index = self.items.index_of_stop(stop_id)
        if not index.isValid() or self._model.read_only:
            return None
        self.tree.expand(index.parent())
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        self.tree.edit(index)
        return self.delegate.editor

    def edit_stop_details(self, stop_id: str) -> StopForm | None:
        """Every field of the stop, its location too, in the full form."""
        stop = self._model.snapshot.stop(stop_id)
        if stop is None or self._model.read_only:
            return None
        return self._open(StopForm(self._model, stop, parent=self))

    def _edit_index(self, index: QModelIndex) -> QWidget | None:
        if self._model.read_only or not index.isValid():
            return None
        stop = self.items.stop_at(index)
        if stop is not None:
            return self.edit_stop(stop.id)
        day = index.data(Role.DAY)
        if day is None:
            return None
        return self._open(DayForm(self._model, day, index.row() + 1, parent=self))

    def _open(self, form: StopForm | DayForm) -> StopForm | DayForm:
        form.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        form.open()
        return form

    def delete_selected(self) -> None:
        index = self.tree.currentIndex()
        stop = self.items.stop_at(index)
        if stop is not None:
            if not apply_edit(self._model, lambda trip: trip.delete_stop(stop.id)):
                self.show_notice(f"Deleted “{stop.name}”.", undoable=True)
            return
        day = index.data(Role.DAY) if index.isValid() else None
        if day is None:
            return
        name = day.title or f"Day {index.row() + 1}"
        count = int(index.data(Role.STOP_COUNT))
        if not apply_edit(self._model, lambda trip: trip.delete_day(day.id)):
            moved = f" Its {count} stop{'s' if count != 1 else ''} are now unscheduled." if count else ""
            self.show_notice(f"Deleted {name}.{moved}", undoable=True)

    def _move_to(self, stop_id: str, day_id: str) -> None:
        apply_edit(self._model, lambda trip: trip.move_stop(stop_id, day_id))

    # ------------------------------------------------------------------ notices and menus

    def show_notice(self, text: str, *, undoable: bool) -> None:
        self.notice.setText(text)
        self.notice_undo.setVisible(undoable)
        self._notice_bar.setProperty("error", not undoable)
        self._notice_bar.style().unpolish(self._notice_bar)
        self._notice_bar.style().polish(self._notice_bar)
        self._notice_bar.show()
        self._notice_timer.start()

    def _undo_from_notice(self) -> None:
        self._notice_bar.hide()
        self.undo()

    def _context_menu(self, pos: QPoint) -> None:
        if self._model.read_only:
            return
        index = self.tree.indexAt(pos)
        if not index.isValid():
            return
        self.tree.setCurrentIndex(index)
        menu = QMenu(self)
        stop = self.items.stop_at(index)
        if stop is not None:
            menu.addAction(self.edit_action)
            menu.addAction("Location and details…", lambda: self.edit_stop_details(stop.id))
            move = menu.addMenu("Move to")
            for number, day in enumerate(self._model.snapshot.days, start=1):
                target = move.addAction(day.title and f"Day {number} · {day.title}" or f"Day {number}")
                target.setEnabled(day.id != stop.day)
                target.triggered.connect(lambda _=False, d=day.id: self._move_to(stop.id, d))
            unschedule = move.addAction("Unscheduled")
            unschedule.setEnabled(bool(stop.day))
            unschedule.triggered.connect(lambda: self._move_to(stop.id, ""))
        elif index.data(Role.DAY) is not None:
            menu.addAction(self.edit_action)
            menu.addAction(icon("plus"), "Add stop…", self.add_stop)
        else:
            return
        menu.addSeparator()
        menu.addAction(self.delete_action)
        menu.popup(self.tree.viewport().mapToGlobal(pos))


def _next_date(iso: str) -> str:
    """The day after `iso`, for a new day at the end; "" when the last day has no date."""
    try:
        return (_dt.date.fromisoformat(iso) + _dt.timedelta(days=1)).isoformat()
    except ValueError:
        return ""


_BOARD_STYLE = f"""
#itineraryBoard, QTreeView {{ background: {style.WINDOW.name()}; }}
QTreeView {{ border: none; outline: none; }}
QTreeView::item, QTreeView::item:selected, QTreeView::item:hover {{ background: transparent; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px 2px 2px 0; }}
QScrollBar::handle:vertical {{ background: {style.BORDER.darker(115).name()}; border-radius: 4px; min-height: 32px; }}
QScrollBar::handle:vertical:hover {{ background: {style.TEXT_FAINT.name()}; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: transparent; }}
QLabel#title {{ color: {style.TEXT.name()}; font-size: 14pt; font-weight: 600; }}
QLabel#summary {{ color: {style.TEXT_MUTED.name()}; font-size: 9pt; }}
QLabel#viewOnly {{
    color: {style.TEXT_MUTED.name()}; background: {style.SURFACE_ALT.name()};
    border: 1px solid {style.BORDER.name()}; border-radius: 9px; padding: 1px 8px; font-size: 8pt;
}}
QPushButton#primary, QPushButton#secondary {{
    border-radius: 7px; padding: 5px 12px 5px 8px; font-weight: 600;
}}
QPushButton#primary {{ background: {style.ACCENT.name()}; color: white; border: 1px solid {style.ACCENT.name()}; }}
QPushButton#primary:hover {{ background: {style.ACCENT.darker(112).name()}; }}
QPushButton#secondary {{ background: {style.SURFACE.name()}; color: {style.TEXT.name()}; border: 1px solid {style.BORDER.name()}; }}
QPushButton#secondary:hover {{ border-color: {style.TEXT_FAINT.name()}; }}
QPushButton:disabled, QPushButton#primary:disabled, QPushButton#secondary:disabled {{
    background: {style.SURFACE_ALT.name()}; color: {style.TEXT_FAINT.name()}; border-color: {style.BORDER.name()};
}}
QToolButton#iconButton {{ border: 1px solid transparent; border-radius: 7px; padding: 5px; }}
QToolButton#iconButton:hover {{ background: {style.SURFACE_ALT.name()}; border-color: {style.BORDER.name()}; }}
QFrame#noticeBar {{ background: {style.TEXT.name()}; }}
QFrame#noticeBar[error="true"] {{ background: {style.DANGER.name()}; }}
QLabel#notice {{ color: white; }}
QPushButton#link {{ color: #a5b8ff; background: transparent; border: none; font-weight: 700; padding: 2px 6px; }}
"""
