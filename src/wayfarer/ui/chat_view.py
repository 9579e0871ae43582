"""`ChatView`: the messages of a chat, one `MessageBlock` each, in a scrolling column.

Why not a widget per message: with a label per message in a scroll area, every token of a
streamed reply made Qt lay out and repaint the whole list (the event loop was busy 80–90%
of the time at 100 tokens/s). Here a change to one message re-lays out that message only;
the view keeps each block's top, so the blocks after it just move down, and a paint draws
only the blocks (and, inside them, only the lines) in sight.

While a reply streams the view sticks to the bottom, unless the person has scrolled up to
read. Text is selectable with the mouse and copyable (Ctrl+C, or the context menu), links
open in the browser, and a click on "Reasoning" opens or closes that section. Screen
readers see a list with one item per message (`chat_accessible`).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QRect, QRectF, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QContextMenuEvent,
    QDesktopServices,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QFrame, QMenu, QToolTip, QWidget

from wayfarer.trip import Message

from . import chat_accessible, style
from .chat_message import Area, ChatLook, Hit, MessageBlock, Part
from .run_status import RunStatus

MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 4, 4, 12
GAP = 2  # between two messages
STICKY_PX = 8  # this close to the bottom counts as "at the bottom"


@dataclass
class _Selection:
    message_id: str
    part: Part
    anchor: int
    position: int

    @property
    def span(self) -> tuple[int, int]:
        return min(self.anchor, self.position), max(self.anchor, self.position)


class ChatView(QAbstractScrollArea):
    """Shows messages in the order they are added; `show_message` / `show_status` change one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # for Ctrl+C; the keyboard stays with the composer
        self.viewport().setMouseTracking(True)
        self.viewport().setAutoFillBackground(False)
        self._look = ChatLook(self.font())
        self._blocks: list[MessageBlock] = []
        self._rows: dict[str, int] = {}
        self._tops: list[float] = []  # each block's top in the content; valid for blocks [0, len)
        self._content_height = float(MARGIN_TOP + MARGIN_BOTTOM)
        self._width = 0.0
        self._stick = True
        self._selection: _Selection | None = None
        self._pressed_link = ""
        self._dragging = False
        self._hovered_toggle = ""
        bar = self.verticalScrollBar()
        bar.setSingleStep(24)
        bar.valueChanged.connect(self._on_scrolled)
        self.setAccessibleName("Messages")

    # ------------------------------------------------------------------ content

    def add_message(self, message: Message, color: str) -> MessageBlock:
        block = MessageBlock(message, color, self._look)
        self._rows[message.id] = len(self._blocks)
        self._blocks.append(block)
        self._changed(len(self._blocks) - 1)
        chat_accessible.notify(self, len(self._blocks) - 1, added=True)
        return block

    def show_message(self, message: Message) -> None:
        row = self._rows.get(message.id)
        if row is not None:
            self._blocks[row].show_message(message)
            self._changed(row)
            chat_accessible.notify(self, row, added=False)

    def show_status(self, message_id: str, status: RunStatus | None, model: str = "") -> None:
        row = self._rows.get(message_id)
        if row is not None and self._blocks[row].show_status(status, model):
            self._changed(row)
            chat_accessible.notify(self, row, added=False)

    def set_color(self, message_id: str, color: str) -> None:
        row = self._rows.get(message_id)
        if row is not None and self._blocks[row].set_color(color):
            self._repaint_row(row)

    def set_reasoning_open(self, message_id: str, open_: bool) -> None:
        row = self._rows.get(message_id)
        if row is not None:
            self._blocks[row].set_reasoning_open(open_)
            self._changed(row)

    def block(self, message_id: str) -> MessageBlock | None:
        row = self._rows.get(message_id)
        return self._blocks[row] if row is not None else None

    def blocks(self) -> list[MessageBlock]:
        return list(self._blocks)

    # ------------------------------------------------------------------ for screen readers (`chat_accessible`)

    def message_count(self) -> int:
        return len(self._blocks)

    def spoken_message(self, row: int) -> tuple[str, str]:
        return self._blocks[row].spoken()

    def message_rect(self, row: int) -> QRect | None:
        rect = self.block_rect(self._blocks[row].message_id) if 0 <= row < len(self._blocks) else None
        return rect.toAlignedRect() if rect is not None else None

    def row_at(self, point: QPoint) -> int:
        found = self._at(point)
        return self._rows[found[0].message_id] if found is not None else -1

    # ------------------------------------------------------------------ scrolling

    def scroll_to_bottom(self) -> None:
        self._stick = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def block_rect(self, message_id: str) -> QRectF | None:
        """Where a message is in the viewport (it may be out of sight)."""
        row = self._rows.get(message_id)
        if row is None:
            return None
        self._lay_out()
        top = self._tops[row] - self.verticalScrollBar().value()
        return QRectF(MARGIN_X, top, self._width, self._blocks[row].height(self._width))

    def rect_of(self, message_id: str, part: Area) -> QRectF | None:
        """Where a part of a message (its "Reasoning" toggle, its text, …) is in the
        viewport; None when the message shows no such part."""
        row, rect = self._rows.get(message_id), self.block_rect(message_id)
        if row is None or rect is None:
            return None
        found = self._blocks[row].rect_of(part, self._width)
        return found.translated(rect.topLeft()) if found is not None else None

    def _changed(self, row: int) -> None:
        """Block `row` changed: the tops after it move, the rest of the chat stays as laid out.
        A hidden view lays out when shown, at its real width."""
        del self._tops[row:]
        if self.isVisible():
            self._lay_out()
            self._repaint_from(row)

    def _lay_out(self) -> None:
        """Place the blocks not placed yet, then set the scroll range; at the bottom, the view
        follows the content down."""
        self._place_blocks()
        bar = self.verticalScrollBar()
        page = self.viewport().height()
        bar.setPageStep(page)
        bar.setRange(0, max(0, int(self._content_height - page + 0.5)))
        if self._stick:
            bar.setValue(bar.maximum())

    def _place_blocks(self) -> bool:
        """The tops of the blocks after the last one placed (after a change: the ones below
        it); at a new width, all of them. Returns whether anything moved."""
        width = float(max(0, self.viewport().width() - 2 * MARGIN_X))
        if width != self._width:
            self._width = width
            self._tops.clear()
        row = len(self._tops)
        if row == len(self._blocks):
            return False
        y = self._tops[-1] + self._blocks[row - 1].height(width) + GAP if row else float(MARGIN_TOP)
        for block in self._blocks[row:]:
            self._tops.append(y)
            y += block.height(width) + GAP
        self._content_height = y - GAP + MARGIN_BOTTOM
        return True

    def _on_scrolled(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - STICKY_PX

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().scroll(0, dy)

    def _repaint_from(self, row: int) -> None:
        top = self._tops[row] - self.verticalScrollBar().value() if row < len(self._tops) else 0
        viewport = self.viewport()
        if top < viewport.height():
            viewport.update(0, max(0, int(top) - 1), viewport.width(), viewport.height())

    def _repaint_row(self, row: int) -> None:
        self._lay_out()
        top = self._tops[row] - self.verticalScrollBar().value()
        self.viewport().update(0, int(top) - 1, self.viewport().width(), int(self._blocks[row].height(self._width)) + 2)

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._place_blocks():  # shown before it was laid out: scroll once this paint is done
            QTimer.singleShot(0, self._lay_out)
        painter = QPainter(self.viewport())
        area = QRectF(event.rect())
        painter.fillRect(area, style.SURFACE)
        offset = self.verticalScrollBar().value()
        first = max(0, bisect_right(self._tops, area.top() + offset) - 1)
        for row in range(first, len(self._blocks)):
            top = self._tops[row] - offset
            if top > area.bottom():
                break
            block = self._blocks[row]
            height = block.height(self._width)
            if top + height < area.top():
                continue
            painter.save()
            painter.translate(MARGIN_X, top)
            block.paint(
                painter,
                self._width,
                area.translated(-MARGIN_X, -top),
                selection=self._selection_in(block),
                toggle_hovered=self._hovered_toggle == block.message_id,
            )
            painter.restore()

    def _selection_in(self, block: MessageBlock) -> tuple[Part, int, int] | None:
        chosen = self._selection
        if chosen is None or chosen.message_id != block.message_id:
            return None
        return (chosen.part, *chosen.span)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._lay_out()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._look = ChatLook(self.font())
            for block in self._blocks:
                block.set_look(self._look)
            self._tops.clear()
            self._lay_out()
            self.viewport().update()

    # ------------------------------------------------------------------ pointing

    def _at(self, point: QPoint | QPointF) -> tuple[MessageBlock, QPointF] | None:
        """The block under a viewport point, and the point in that block's coordinates."""
        self._place_blocks()
        y = point.y() + self.verticalScrollBar().value()
        row = bisect_right(self._tops, y) - 1
        if row < 0:
            return None
        block = self._blocks[row]
        local = QPointF(point.x() - MARGIN_X, y - self._tops[row])
        return (block, local) if local.y() <= block.height(self._width) else None

    def _hit(self, point: QPoint | QPointF) -> tuple[MessageBlock | None, Hit]:
        found = self._at(point)
        if found is None:
            return None, Hit("none")
        block, local = found
        return block, block.hit(local, self._width)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        block, hit = self._hit(event.position())
        self._pressed_link, self._dragging = "", False
        previous, self._selection = self._selection, None
        if block is not None and hit.kind == "toggle":
            self.set_reasoning_open(block.message_id, not block.reasoning_open)
        elif block is not None and hit.kind == "text" and hit.part is not None:
            self._selection = _Selection(block.message_id, hit.part, hit.position, hit.position)
            self._pressed_link, self._dragging = hit.link, True
        if previous is not None or self._selection is not None:
            self.viewport().update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        chosen = self._selection
        if self._dragging and chosen is not None and event.buttons() & Qt.MouseButton.LeftButton:
            row = self._rows.get(chosen.message_id)
            if row is not None:
                top = self._tops[row] - self.verticalScrollBar().value()
                local = QPointF(event.position().x() - MARGIN_X, event.position().y() - top)
                chosen.position = self._blocks[row].position_at(chosen.part, local, self._width)
                self.viewport().update()
            return
        block, hit = self._hit(event.position())
        hovered = block.message_id if block is not None and hit.kind == "toggle" else ""
        if hovered != self._hovered_toggle:
            self._hovered_toggle = hovered
            self.viewport().update()
        if hit.kind == "toggle" or hit.link:
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        elif hit.kind == "text":
            self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        else:
            self.viewport().unsetCursor()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        chosen, link = self._selection, self._pressed_link
        self._dragging, self._pressed_link = False, ""
        if (
            event.button() == Qt.MouseButton.LeftButton
            and link
            and chosen is not None
            and chosen.anchor == chosen.position
        ):
            QDesktopServices.openUrl(QUrl(link))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        block, hit = self._hit(event.position())
        if block is None or hit.kind != "text" or hit.part is None:
            super().mouseDoubleClickEvent(event)
            return
        start, end = block.word_at(hit.part, hit.position)
        self._selection = _Selection(block.message_id, hit.part, start, end)
        self.viewport().update()

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        if self._hovered_toggle:
            self._hovered_toggle = ""
            self.viewport().update()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            position = event.pos()  # type: ignore[attr-defined]
            block, hit = self._hit(position)
            if block is not None and hit.kind == "chip":
                QToolTip.showText(event.globalPos(), block.status_text, self.viewport())  # type: ignore[attr-defined]
            elif hit.link:
                QToolTip.showText(event.globalPos(), hit.link, self.viewport())  # type: ignore[attr-defined]
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    # ------------------------------------------------------------------ copying

    def selected_text(self) -> str:
        chosen = self._selection
        block = self.block(chosen.message_id) if chosen is not None else None
        if chosen is None or block is None:
            return ""
        return block.fragment(chosen.part, *chosen.span).toPlainText()

    def copy(self) -> None:
        """Copy the selected text (as text and as rich text) to the clipboard."""
        chosen = self._selection
        block = self.block(chosen.message_id) if chosen is not None else None
        if chosen is None or block is None or chosen.anchor == chosen.position:
            return
        fragment = block.fragment(chosen.part, *chosen.span)
        data = QMimeData()
        data.setText(fragment.toPlainText())
        data.setHtml(fragment.toHtml())
        QGuiApplication.clipboard().setMimeData(data)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy()
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        block, hit = self._hit(event.pos())  # the viewport's event, in its coordinates
        menu = QMenu(self)
        copy = menu.addAction("Copy", self.copy)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setEnabled(bool(self.selected_text()))
        if block is not None and block.text:
            text = block.text
            menu.addAction("Copy message", lambda: QGuiApplication.clipboard().setText(text))
        if hit.link:
            link = hit.link
            menu.addAction("Copy link address", lambda: QGuiApplication.clipboard().setText(link))
        menu.exec(event.globalPos())


# Before any view exists: Qt asks the factories once per object and keeps the answer.
chat_accessible.install(ChatView)
