"""How a message's Markdown looks: air between blocks, list markers, code and quotes.

Qt renders Markdown itself (`QTextDocument.setMarkdown`), but as imported every block sits
flush against the next, a list indents 40 px, and Qt draws each bullet one space away
from its text, where it reads as part of the word. No format property moves Qt's marker,
so `finish` styles the imported document (block margins, a narrower indent, backgrounds
for inline code) and turns Qt's list markers off, noting where each one belongs; the
chat then paints the markers, the code-block backgrounds and the quote rules around the
document (`paint_under`, `paint_over`) at the spacing chosen here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QPainter,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextLine,
    QTextList,
    QTextListFormat,
)

from . import style

INDENT = 22  # per list level: the text of a first-level item starts here
MARKER_GAP = 8  # from a marker's right edge to its item's text
BULLET = 5.0  # a first-level bullet's diameter
PARAGRAPH_GAP = 7  # below a paragraph, a heading, a whole list or a code block
ITEM_GAP = 3  # between two items of a list
HEADING_TOP = 4  # extra air above a heading that follows other text
CODE_PAD_X, CODE_PAD_Y = 8, 6  # inside a code block's background
QUOTE_INDENT = 14  # per quote level: a 3 px rule, then air
CODE_BACKGROUND = QColor("#eef0f3")
QUOTE_RULE = QColor("#dee2e6")

MarkerKind = Literal["disc", "circle", "square", "number"]
_BULLETS: dict[QTextListFormat.Style, MarkerKind] = {
    QTextListFormat.Style.ListDisc: "disc",
    QTextListFormat.Style.ListCircle: "circle",
    QTextListFormat.Style.ListSquare: "square",
}
_BY_LEVEL: tuple[MarkerKind, ...] = ("disc", "circle", "square")
_CODE = (QTextFormat.Property.BlockCodeFence, QTextFormat.Property.BlockCodeLanguage)
BlockKind = Literal["text", "heading", "item", "code", "quote"]


@dataclass(frozen=True)
class Marker:
    """A list item's marker: a bullet (by nesting level) or its number, e.g. "3."."""

    block: int  # the item's block number
    kind: MarkerKind
    text: str = ""


@dataclass(frozen=True)
class Decorations:
    """What `paint_under` and `paint_over` draw around one finished document."""

    markers: tuple[Marker, ...] = ()
    code_runs: tuple[tuple[int, int], ...] = ()  # first and last block number of each code block
    quotes: tuple[tuple[int, int], ...] = ()  # block number and quote level


NONE = Decorations()


def finish(document: QTextDocument) -> Decorations:
    """Style a document just filled with `setMarkdown`; returns what to paint around it."""
    document.setIndentWidth(INDENT)
    blocks = _blocks(document)
    kinds = [_kind(block) for block in blocks]
    markers = _markers(blocks)
    rooms = _number_rooms(document, blocks, markers)
    lists = {b.textList().item(0).blockNumber(): b.textList() for b in blocks if b.textList() is not None}
    for text_list in lists.values():
        _hide_markers(text_list)
    code_runs: list[tuple[int, int]] = []
    quotes: list[tuple[int, int]] = []
    for i, (block, kind) in enumerate(zip(blocks, kinds)):
        before = kinds[i - 1] if i else None
        after = kinds[i + 1] if i + 1 < len(kinds) else None
        layout = QTextBlockFormat()
        layout.setTopMargin(_top_margin(kind, before))
        layout.setBottomMargin(_bottom_margin(kind, after))
        if kind == "code":
            layout.setLeftMargin(CODE_PAD_X)
            layout.setRightMargin(CODE_PAD_X)
            if before != "code":
                code_runs.append((block.blockNumber(), block.blockNumber()))
            else:
                code_runs[-1] = (code_runs[-1][0], block.blockNumber())
        level = block.blockFormat().intProperty(QTextFormat.Property.BlockQuoteLevel)
        if level:
            layout.setLeftMargin(QUOTE_INDENT * level)
            layout.setRightMargin(0)
            quotes.append((block.blockNumber(), level))
        extra = rooms.get(block.blockNumber(), 0)
        if extra:
            layout.setLeftMargin(extra)
        QTextCursor(block).mergeBlockFormat(layout)
        if kind != "code":
            _shade_inline_code(block)
    return Decorations(tuple(markers.values()), tuple(code_runs), tuple(quotes))


def paint_under(painter: QPainter, document: QTextDocument, decorations: Decorations, clip: QRectF) -> None:
    """Code-block backgrounds and quote rules, under the text (document coordinates)."""
    width = document.textWidth()
    for first, last in decorations.code_runs:
        top_block, bottom_block = document.findBlockByNumber(first), document.findBlockByNumber(last)
        top = _block_rect(document, top_block)
        bottom = _block_rect(document, bottom_block)
        if top is None or bottom is None:
            continue
        left = top.left() - CODE_PAD_X
        area = QRectF(left, top.top() - CODE_PAD_Y, width - left, bottom.bottom() - top.top() + 2 * CODE_PAD_Y)
        if area.intersects(clip):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(CODE_BACKGROUND)
            painter.drawRoundedRect(area, 6, 6)
    for number, level in decorations.quotes:
        rect = _block_rect(document, document.findBlockByNumber(number))
        if rect is None or not rect.intersects(clip):
            continue
        for depth in range(level):
            painter.fillRect(QRectF(depth * QUOTE_INDENT, rect.top(), 3, rect.height()), QUOTE_RULE)


def paint_over(painter: QPainter, document: QTextDocument, decorations: Decorations, clip: QRectF) -> None:
    """The list markers, in the muted text colour, each `MARKER_GAP` left of its text."""
    if not decorations.markers:
        return
    font = document.defaultFont()
    metrics = QFontMetricsF(font)
    painter.setFont(font)
    for marker in decorations.markers:
        block = document.findBlockByNumber(marker.block)
        line = _first_line(block)
        if line is None:
            continue
        origin = block.layout().position()
        text_x = origin.x() + line.naturalTextRect().x()
        top = origin.y() + line.y()
        if top > clip.bottom() or top + line.height() < clip.top():
            continue
        right = text_x - MARKER_GAP
        if marker.kind == "number":
            painter.setPen(style.TEXT_MUTED)
            box = QRectF(right - 48, top, 48, line.height())
            painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, marker.text)
            continue
        # On the middle of the lower-case letters, where the eye expects it.
        center = QPointF(right - BULLET / 2, top + line.ascent() - metrics.xHeight() / 2)
        _paint_bullet(painter, marker.kind, center)


def _paint_bullet(painter: QPainter, kind: MarkerKind, center: QPointF) -> None:
    radius = BULLET / 2
    if kind == "disc":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.TEXT_MUTED)
        painter.drawEllipse(center, radius, radius)
    elif kind == "circle":
        painter.setPen(style.TEXT_MUTED)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(center, radius - 0.5, radius - 0.5)
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.TEXT_MUTED)
        painter.drawRect(QRectF(center.x() - radius + 0.5, center.y() - radius + 0.5, BULLET - 1, BULLET - 1))


def plain_text(document: QTextDocument, decorations: Decorations) -> str:
    """The document as text with its list markers ("• Belém Tower", "2. Walk"), for
    whoever reads the message without seeing it (a screen reader)."""
    markers = {m.block: (m.text if m.kind == "number" else "•") for m in decorations.markers}
    lines = []
    for block in _blocks(document):
        marker = markers.get(block.blockNumber())
        lines.append(f"{marker} {block.text()}" if marker else block.text())
    return "\n".join(lines).replace("\u2028", "\n").strip()


# ---------------------------------------------------------------------- reading the import


def _blocks(document: QTextDocument) -> list[QTextBlock]:
    blocks, block = [], document.begin()
    while block.isValid():
        blocks.append(block)
        block = block.next()
    return blocks


def _kind(block: QTextBlock) -> BlockKind:
    fmt = block.blockFormat()
    if any(fmt.hasProperty(p) for p in _CODE):
        return "code"
    if block.textList() is not None:
        return "item"
    if fmt.headingLevel():
        return "heading"
    if fmt.intProperty(QTextFormat.Property.BlockQuoteLevel):
        return "quote"
    return "text"


def _markers(blocks: list[QTextBlock]) -> dict[int, Marker]:
    """Each list item's marker, read while Qt's list styles are still set."""
    markers: dict[int, Marker] = {}
    for block in blocks:
        text_list = block.textList()
        if text_list is None:
            continue
        fmt = text_list.format()
        bullet = _BULLETS.get(fmt.style())
        if bullet is None:
            markers[block.blockNumber()] = Marker(block.blockNumber(), "number", text_list.itemText(block))
        else:
            # Qt marks every level with a disc; nesting reads better with disc, circle, square.
            level = max(1, fmt.indent())
            markers[block.blockNumber()] = Marker(block.blockNumber(), _BY_LEVEL[min(level, 3) - 1])
    return markers


def _hide_markers(text_list: QTextList) -> None:
    fmt = text_list.format()
    fmt.setStyle(QTextListFormat.Style.ListStyleUndefined)
    text_list.setFormat(fmt)


def _top_margin(kind: BlockKind, before: BlockKind | None) -> float:
    # Qt collapses a block's top margin with the bottom margin of the block above (the
    # larger wins), so a margin meant to add to the gap below a paragraph includes it.
    if before is None:
        return 0
    if kind == "code" and before != "code":
        return PARAGRAPH_GAP + CODE_PAD_Y
    return PARAGRAPH_GAP + HEADING_TOP if kind == "heading" else 0


def _bottom_margin(kind: BlockKind, after: BlockKind | None) -> float:
    if after is None:
        return CODE_PAD_Y if kind == "code" else 0
    if kind == "code":
        return 0 if after == "code" else CODE_PAD_Y + PARAGRAPH_GAP
    if kind == "item" and after == "item":
        return ITEM_GAP
    if kind == "quote" and after == "quote":
        return 0
    return PARAGRAPH_GAP


def _number_rooms(document: QTextDocument, blocks: list[QTextBlock], markers: dict[int, Marker]) -> dict[int, float]:
    """Extra left margin for the items of an ordered list whose widest number ("10.")
    would not fit beside its text, by block number."""
    metrics = QFontMetricsF(document.defaultFont())
    widest: dict[int, float] = {}  # by the list's first block
    for block in blocks:
        marker, text_list = markers.get(block.blockNumber()), block.textList()
        if marker is not None and marker.kind == "number" and text_list is not None:
            first = text_list.item(0).blockNumber()
            widest[first] = max(widest.get(first, 0.0), metrics.horizontalAdvance(marker.text))
    rooms: dict[int, float] = {}
    for block in blocks:
        text_list = block.textList()
        if text_list is None or text_list.item(0).blockNumber() not in widest:
            continue
        room = INDENT * max(1, text_list.format().indent())
        extra = math.ceil(widest[text_list.item(0).blockNumber()] + MARKER_GAP - room)
        if extra > 0:
            rooms[block.blockNumber()] = extra
    return rooms


def _shade_inline_code(block: QTextBlock) -> None:
    """`code` inside a sentence gets a light background, as in every Markdown reader."""
    fragments = block.begin()
    while not fragments.atEnd():
        fragment = fragments.fragment()
        if fragment.isValid() and fragment.charFormat().fontFixedPitch():
            cursor = QTextCursor(block.document())
            cursor.setPosition(fragment.position())
            cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
            shade = QTextCharFormat()
            shade.setBackground(CODE_BACKGROUND)
            cursor.mergeCharFormat(shade)
        fragments += 1


def _first_line(block: QTextBlock) -> QTextLine | None:
    layout = block.layout()
    return layout.lineAt(0) if layout is not None and layout.lineCount() else None


def _block_rect(document: QTextDocument, block: QTextBlock) -> QRectF | None:
    """Where a block's text lines are (without its margins), in document coordinates."""
    line = _first_line(block)
    if line is None:
        return None
    layout = block.layout()
    last = layout.lineAt(layout.lineCount() - 1)
    origin = layout.position()
    left = origin.x() + line.x()
    return QRectF(left, origin.y() + line.y(), document.textWidth() - left, last.y() + last.height() - line.y())
