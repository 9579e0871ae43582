"""Editing a stop in place on the board: its card turns into fields.

Double-click, F2 or Return on a stop opens a `StopCardEditor` over its card. It is the
tree's own item editor (`EditingDelegate.createEditor`), so the view places it, scrolls it
with the card and closes it when the person moves on. Return saves, Esc cancels, and
leaving the card (another row, another panel) saves too. Only the fields the person
changed are written, as one edit (one undo step), so what someone else changed on the
same stop meanwhile is kept; a field someone else changes while the card is open, and
this person has not touched, follows along. A refused value is explained under the
fields with the field marked, and the card stays open with everything typed.

The location, with its atlas lookup, needs more room: "Location…" opens the full form.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from wayfarer.trip import Stop

from . import style
from .board_delegate import BoardDelegate, card_rect
from .board_items import Role
from .edits import apply_edit, refused_field
from .stop_editor import FIELD_STYLE, field_values
from .trip_model import TripModel

EDITING_HEIGHT = 122  # the row of a stop while its card is being edited
_MAX_DURATION_MIN = 7 * 24 * 60
_SAVE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
# Keys the window or the board bind (Delete deletes the stop, Esc stops the agent) that
# belong to the card's fields while one has the focus.
_FIELD_KEYS = (*_SAVE_KEYS, Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace)

AnyIndex = QModelIndex | QPersistentModelIndex


class StopCardEditor(QFrame):
    """The fields of one stop, laid out like its card: time, name, cost; category,
    duration, notes. It only says what the person wants; the delegate writes."""

    save_requested = Signal()
    cancel_requested = Signal()
    details_requested = Signal()

    def __init__(self, stop: Stop, currency: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stopCardEditor")
        self.setStyleSheet(FIELD_STYLE + _EDITOR_STYLE)
        self.setAutoFillBackground(True)
        self.stop_id = stop.id
        self.start_time = QLineEdit(placeholderText="HH:MM", maxLength=5)
        self.start_time.setFixedWidth(64)
        self.start_time.setToolTip("Start time, HH:MM (empty: no set time)")
        self.name = QLineEdit(placeholderText="Name")
        self.cost = QDoubleSpinBox(minimum=0.0, maximum=1e9, decimals=2, singleStep=5.0)
        self.cost.setPrefix(style.currency_symbol(currency))
        self.cost.setFixedWidth(96)
        self.cost.setToolTip(f"Cost in {currency}")
        self.category = QComboBox()
        for key, label in style.CATEGORY_LABELS.items():
            self.category.addItem(label, key)
        self.duration = QSpinBox(minimum=0, maximum=_MAX_DURATION_MIN, singleStep=15, suffix=" min")
        self.duration.setFixedWidth(96)
        self.duration.setToolTip("Duration in minutes")
        self.notes = QLineEdit(placeholderText="Notes")
        self.error = QLabel(objectName="error", wordWrap=False)
        self.hint = QLabel("Enter saves · Esc cancels", objectName="hint")
        self.details = QPushButton("Location…", objectName="link")
        self.details.setToolTip("Edit the location (and every field) in the full form")
        self.details.setCursor(Qt.CursorShape.PointingHandCursor)
        self.details.clicked.connect(self.details_requested)
        self._fields: dict[str, QWidget] = {
            "start_time": self.start_time,
            "name": self.name,
            "cost": self.cost,
            "category": self.category,
            "duration_min": self.duration,
            "notes": self.notes,
        }
        self._shown: dict[str, Any] = {}  # what each field showed before the person typed
        self._layout()
        self._keys = _FieldKeys(self)
        for widget in self._fields.values():
            widget.installEventFilter(self._keys)
        self.show_stop(stop)
        self.error.hide()
        QApplication.instance().focusChanged.connect(self._on_focus)  # type: ignore[union-attr]

    def _layout(self) -> None:
        self.category.setFixedWidth(112)
        first = QHBoxLayout()
        first.setSpacing(6)
        first.addWidget(self.start_time)
        first.addWidget(self.name, 1)
        first.addWidget(self.cost)
        second = QHBoxLayout()
        second.setSpacing(6)
        second.addWidget(self.category)
        second.addWidget(self.duration)
        second.addWidget(self.notes, 1)
        footer = QHBoxLayout()
        footer.setContentsMargins(2, 0, 0, 0)
        footer.addWidget(self.error, 1)
        footer.addWidget(self.hint, 1)
        footer.addWidget(self.details)
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 4)
        column.setSpacing(6)
        column.addLayout(first)
        column.addLayout(second)
        column.addLayout(footer)
        order = [self.start_time, self.name, self.cost, self.category, self.duration, self.notes]
        for before, after in pairwise(order):
            QWidget.setTabOrder(before, after)
        self.setFocusProxy(self.name)  # the view focuses the editor: the name is what one edits most

    # ------------------------------------------------------------------ values

    def values(self) -> dict[str, Any]:
        """What the fields say now, under the schema's names."""
        return {
            "name": self.name.text(),
            "start_time": self.start_time.text().strip(),
            "duration_min": self.duration.value(),
            "cost": round(self.cost.value(), 2),
            "category": self.category.currentData(),
            "notes": self.notes.text(),
        }

    def changes(self) -> dict[str, Any]:
        """The fields the person changed, with their new values."""
        return {key: value for key, value in self.values().items() if value != self._shown.get(key)}

    def show_stop(self, stop: Stop) -> None:
        """The stop as it is now in the trip: fields the person has not touched follow it."""
        touched = {key for key, value in self.values().items() if key in self._shown and value != self._shown[key]}
        for key, value in field_values(stop).items():
            if key in touched:
                continue  # the person's edit wins over one that arrived meanwhile
            self._set(key, value)
            self._shown[key] = self.values()[key]

    def _set(self, key: str, value: Any) -> None:
        if key == "name":
            self.name.setText(value)
        elif key == "start_time":
            self.start_time.setText(value)
        elif key == "duration_min":
            self.duration.setValue(int(value))
        elif key == "cost":
            self.cost.setValue(float(value))
        elif key == "category":
            self.category.setCurrentIndex(max(0, self.category.findData(value)))
        elif key == "notes":
            self.notes.setText(value)

    def show_error(self, message: str, field: str = "") -> None:
        self.error.setText(message)
        self.error.setToolTip(message)
        self.error.show()
        self.hint.hide()
        for key, widget in self._fields.items():
            widget.setProperty("refused", key == field)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        if field in self._fields:
            self._fields[field].setFocus()

    def mark_saved(self) -> None:
        """What the fields say is in the trip now: nothing is left to save."""
        self._shown = self.values()

    # ------------------------------------------------------------------ leaving

    def _on_focus(self, old: QWidget | None, new: QWidget | None) -> None:
        """Focus went from a field of this card to something else of this window: done."""
        if old is None or new is None or not self.isAncestorOf(old) or self.isAncestorOf(new):
            return
        if new.window().windowType() == Qt.WindowType.Popup or new.window() is not self.window():
            return  # the category list, a menu, another window: the person is still here
        self.save_requested.emit()


class _FieldKeys(QObject):
    """Return saves and Esc cancels from any field; Delete and Backspace stay the field's
    (they are the board's "delete the stop" too)."""

    def __init__(self, editor: StopCardEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) or not isinstance(event, QKeyEvent):
            return False
        key = Qt.Key(event.key())
        if key not in _FIELD_KEYS:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # a key press for the field, not the window's shortcut
            return True
        if key in _SAVE_KEYS:
            self._editor.save_requested.emit()
            return True
        if key == Qt.Key.Key_Escape:
            self._editor.cancel_requested.emit()
            return True
        return False


class EditingDelegate(BoardDelegate):
    """The board's delegate, with stop cards editable in place."""

    refused = Signal(str)  # an edit the trip refused after the person had moved on
    details_requested = Signal(str)  # stop id: open the full form

    def __init__(self, view: QTreeView, model: TripModel) -> None:
        super().__init__(view)
        self._model = model
        self._editing = QPersistentModelIndex()
        self.editor: StopCardEditor | None = None

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        size = super().sizeHint(option, index)
        if self._editing.isValid() and QPersistentModelIndex(index) == self._editing:
            size.setHeight(EDITING_HEIGHT)
        return size

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex) -> QWidget | None:
        stop: Stop | None = index.data(Role.STOP)
        if stop is None or self._model.read_only:
            return None
        editor = StopCardEditor(stop, index.data(Role.CURRENCY), parent)
        editor.save_requested.connect(lambda: self._save(editor))
        editor.cancel_requested.connect(lambda: self._close(editor, QAbstractItemDelegate.EndEditHint.RevertModelCache))
        editor.details_requested.connect(lambda: self._details(editor))
        self._editing = QPersistentModelIndex(index)
        self.editor = editor
        self.sizeHintChanged.emit(index)
        return editor

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        stop: Stop | None = index.data(Role.STOP)
        if isinstance(editor, StopCardEditor) and stop is not None:
            editor.show_stop(stop)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex) -> None:
        """The view commits when the person moves to another row: write, and if the trip
        refuses, say so on the board (the card is gone by then)."""
        if isinstance(editor, StopCardEditor) and editor is self.editor:
            self.editor = None  # the view closes it next
            refusal = self._write(editor)
            if refusal:
                self.refused.emit(refusal)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        editor.setGeometry(card_rect(QRectF(option.rect)).toRect())

    def destroyEditor(self, editor: QWidget, index: AnyIndex) -> None:
        if editor is self.editor:
            self.editor = None
        if self._editing.isValid() and QPersistentModelIndex(index) == self._editing:
            self._editing = QPersistentModelIndex()
            self.sizeHintChanged.emit(index)
        super().destroyEditor(editor, index)

    def _write(self, editor: StopCardEditor) -> str:
        changes = editor.changes()
        if not changes:
            return ""
        stop_id = editor.stop_id
        refusal = apply_edit(self._model, lambda trip: trip.update_stop(stop_id, **changes))
        if not refusal:
            editor.mark_saved()
        return refusal

    def _save(self, editor: StopCardEditor) -> None:
        if editor is not self.editor:
            return  # already closed (a second save from the focus leaving it)
        refusal = self._write(editor)
        if refusal:
            editor.show_error(refusal, refused_field(refusal))
            return
        self._close(editor, QAbstractItemDelegate.EndEditHint.NoHint)

    def _details(self, editor: StopCardEditor) -> None:
        stop_id = editor.stop_id
        self._close(editor, QAbstractItemDelegate.EndEditHint.RevertModelCache)
        self.details_requested.emit(stop_id)

    def _close(self, editor: StopCardEditor, hint: QAbstractItemDelegate.EndEditHint) -> None:
        """Closing moves the focus, which would read as "leaving the card: save": from
        here on this editor is done."""
        if editor is self.editor:
            self.editor = None
            self.closeEditor.emit(editor, hint)


_EDITOR_STYLE = f"""
QFrame#stopCardEditor {{
    background: {style.SURFACE.name()}; border: 1.5px solid {style.ACCENT.name()}; border-radius: 8px;
}}
QLabel#hint {{ color: {style.TEXT_FAINT.name()}; font-size: 8pt; }}
QLabel#error {{ background: transparent; padding: 0; font-size: 8.5pt; }}
QPushButton#link {{ color: {style.ACCENT.name()}; background: transparent; border: none; font-weight: 600;
    padding: 0 2px; font-size: 8.5pt; }}
QComboBox {{ padding: 3px 4px; }}
"""
