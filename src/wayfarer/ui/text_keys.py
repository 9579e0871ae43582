"""Window-wide keys, and the fields that keep them: undo and redo for text, Esc for inline editors.

Undo and redo of the plan are shortcuts of the whole window, so that Ctrl+Z works after a
drag on the board, a click on the map or a budget button. A text field with the focus
(the message box, the trip's title, a form's fields) must keep these keys for its own
text. Qt's text fields claim the keys their platform binds to undo and redo; some
platforms bind only some of ours (Ctrl+Y is redo on Windows, not on GNOME), so the window
asks `text_keeps` and lets the field have the key, whether or not it uses it.

Esc stops the agent's reply from anywhere in the window; an inline editor that Esc closes
(`EscapeCancels`) takes it first, as a dialog, being its own window, does anyway.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

UNDO_KEYS = (QKeySequence("Ctrl+Z"),)
REDO_KEYS = (QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y"))


def is_editing_text(widget: QWidget | None) -> bool:
    """Whether `widget` is a text field a person can type in (not a read-only one)."""
    if isinstance(widget, QLineEdit | QAbstractSpinBox | QPlainTextEdit | QTextEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return False


def text_keeps(event: QKeyEvent, focus: QWidget | None) -> bool:
    """Whether a key the window would take for undo or redo belongs to the focused text field."""
    if not is_editing_text(focus):
        return False
    pressed = QKeySequence(event.keyCombination())
    return any(pressed.matches(key) == QKeySequence.SequenceMatch.ExactMatch for key in UNDO_KEYS + REDO_KEYS)


class EscapeCancels(QObject):
    """Esc in `editor` calls `cancel` (the inline editor's "never mind") and goes no further:
    the editor claims the key before the window's shortcuts are looked up."""

    def __init__(self, editor: QWidget, cancel: Callable[[], object]) -> None:
        super().__init__(editor)
        self._cancel = cancel
        editor.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) or not isinstance(event, QKeyEvent):
            return False
        if event.key() != Qt.Key.Key_Escape or event.modifiers() != Qt.KeyboardModifier.NoModifier:
            return False
        event.accept()
        if kind == QEvent.Type.KeyPress:
            self._cancel()
        return True
