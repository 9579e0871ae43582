"""One chat message as the chat view paints it: laid out once per width, then only painted.

A `MessageBlock` holds a message's text as QTextDocuments (the reply as Markdown, which
Qt renders and `chat_markdown` spaces and marks; the reasoning as plain text; one line
per tool call) and the geometry of
everything around them (avatar, author, time, run status, the reasoning toggle) for the
last width it was laid out at. A change to the message refills and re-lays out only this
block's documents; every other message keeps its layout, so a streamed token costs the
streaming message's layout and nothing that grows with the chat.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPalette,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextOption,
)

from wayfarer.agent.describe import describe_tool_call
from wayfarer.trip import Message, ToolCall

from . import chat_markdown, style, theme
from .avatar import avatar_label, paint_avatar
from .run_status import RunStatus, local_clock

Part = Literal["body", "reasoning"]
HitKind = Literal["toggle", "chip", "text", "none"]
Area = Literal["toggle", "chip", "reasoning", "body", "tools"]

PAD_X, PAD_Y = 12, 10  # inside a message's bubble
AVATAR = 26
COLUMN_X = PAD_X + AVATAR + 4 + 10  # the avatar's box, then 10 px of air
SPACING = 4  # between the parts of a message, top to bottom
HEADER_GAP = 8  # between author, time, model and status
CHIP_PAD_X, CHIP_PAD_Y = 8, 1
RULE_INDENT = 10  # reasoning: a 2 px rule, then 8 px of air
ARROW_BOX = 14  # the reasoning toggle's arrow
RADIUS = 8
REASONING = "Reasoning"
_TOOL_MARK = {"running": ("…", "#6b7280"), "ok": ("✓", "#2b8a3e"), "error": ("⚠", "#e03131")}


class ChatLook:
    """The fonts (and their metrics) of every message of one view, made from its font."""

    def __init__(self, base: QFont) -> None:
        self.base = QFont(base)
        self.author = _sized(base, weight=QFont.Weight.DemiBold)
        self.small = _sized(base, pixels=12)
        self.chip = _sized(base, pixels=11)
        self.body = _sized(base, pixels=13)
        self.reasoning = _sized(base, italic=True)
        self.tools = _sized(base, pixels=12)
        self.author_metrics = QFontMetricsF(self.author)
        self.small_metrics = QFontMetricsF(self.small)
        self.chip_metrics = QFontMetricsF(self.chip)


def _sized(base: QFont, *, pixels: int = 0, weight: QFont.Weight | None = None, italic: bool = False) -> QFont:
    font = QFont(base)
    if pixels:
        font.setPixelSize(pixels)
    if weight is not None:
        font.setWeight(weight)
    font.setItalic(italic)
    return font


@dataclass(frozen=True)
class Hit:
    """What is under a point of a message: the toggle, the status chip, or a text position
    (with the link there, if any)."""

    kind: HitKind
    part: Part | None = None
    position: int = -1
    link: str = ""


@dataclass(frozen=True)
class _Header:
    """The first line of a message: author, time, model, and the run status when it fits
    beside them (else on a line of its own, `bottom` below it)."""

    row: QRectF
    author: str
    author_width: float
    time_x: float
    model: str
    model_x: float
    chip: QRectF | None
    chip_text: str
    bottom: float


@dataclass(frozen=True)
class _Geometry:
    """Where everything of a message sits at one width, relative to its top-left corner."""

    width: float
    height: float
    header: _Header
    toggle: QRectF | None
    reasoning: QRectF | None
    body: QRectF | None
    tools: QRectF | None


class MessageBlock:
    """One message of the chat view. `show_message` marks what changed; the next layout
    (at paint time, or when the view asks for the height) refills only those documents."""

    def __init__(self, message: Message, color: str, look: ChatLook) -> None:
        self.message = message
        self.color = QColor(color)
        self.status: RunStatus | None = None
        self.model = ""
        self.reasoning_open = False
        self._look = look
        self._agent = message.role == "assistant"
        self._label = avatar_label(message.author_name, agent=self._agent)
        self._time = local_clock(message.created_at)
        # Made when first needed: most messages have no reasoning and no tool calls, and an
        # empty QTextDocument still costs ~13 KB.
        self._documents: dict[str, QTextDocument] = {}
        self._stale: set[str] = {"body", "reasoning", "tools"}
        self._markdown = chat_markdown.NONE  # list markers and code backgrounds of the body
        self._geometry: _Geometry | None = None

    # ------------------------------------------------------------------ what it shows

    @property
    def message_id(self) -> str:
        return self.message.id

    @property
    def text(self) -> str:
        """The message's text as written (Markdown source)."""
        return self.message.text

    @property
    def status_text(self) -> str:
        return self.status.text if self.status is not None else ""

    def tool_lines(self) -> list[str]:
        """The tool call lines as plain text, e.g. "✓ Added Belém Tower to Day 2"."""
        return [_tool_line(call)[0] for call in self.message.tool_calls]

    def spoken(self) -> tuple[str, str]:
        """The message for a screen reader: a name ("Ana, 14:05: Plan 2 days in Lisbon")
        and a description (run status, model, tool lines, whether there is reasoning)."""
        self._refill()
        body = chat_markdown.plain_text(self._documents["body"], self._markdown) if "body" in self._documents else ""
        who = ", ".join(part for part in (self.message.author_name or "Someone", self._time) if part)
        extra = [self.status_text, self.model]
        if self.message.reasoning:
            extra.append("reasoning shown" if self.reasoning_open else "reasoning hidden")
        return f"{who}: {body}" if body else who, "; ".join([part for part in extra if part] + self.tool_lines())

    def document(self, part: Part) -> QTextDocument:
        """The text of the body or the reasoning, as painted."""
        self._refill()
        return self._document(part)

    # ------------------------------------------------------------------ changes

    def show_message(self, message: Message) -> None:
        before, self.message = self.message, message
        changed = {
            "body": before.text != message.text,
            "reasoning": before.reasoning != message.reasoning,
            "tools": before.tool_calls != message.tool_calls,
        }
        self._stale.update(part for part, differs in changed.items() if differs)
        if any(changed.values()):
            self._geometry = None

    def show_status(self, status: RunStatus | None, model: str = "") -> bool:
        """Returns whether anything changed (the view then repaints this block)."""
        if (status, model) == (self.status, self.model):
            return False
        self.status, self.model = status, model
        self._geometry = None
        return True

    def set_color(self, color: str) -> bool:
        if QColor(color) == self.color:
            return False
        self.color = QColor(color)
        return True

    def set_reasoning_open(self, open_: bool) -> None:
        if open_ != self.reasoning_open:
            self.reasoning_open = open_
            self._geometry = None

    def set_look(self, look: ChatLook) -> None:
        self._look = look
        for part, document in self._documents.items():
            document.setDefaultFont(_font(look, part))
        self._stale.update(("body", "reasoning", "tools"))
        self._geometry = None

    # ------------------------------------------------------------------ layout

    def height(self, width: float) -> float:
        return self._layout(width).height

    def _document(self, part: str) -> QTextDocument:
        document = self._documents.get(part)
        if document is None:
            document = self._documents[part] = _new_document(_font(self._look, part))
        return document

    def _refill(self) -> None:
        """Put the message's current text into the documents whose text changed; the
        reasoning only once it is opened (while it streams closed, it costs nothing)."""
        message = self.message
        if "body" in self._stale and (message.text or "body" in self._documents):
            body = self._document("body")
            body.setMarkdown(message.text)
            self._markdown = chat_markdown.finish(body)
        if "reasoning" in self._stale and self.reasoning_open:
            self._document("reasoning").setPlainText(message.reasoning.strip())
            self._stale.discard("reasoning")
        if "tools" in self._stale and (message.tool_calls or "tools" in self._documents):
            self._document("tools").setHtml(_tools_html(message.tool_calls))
        self._stale.intersection_update({"reasoning"})

    def _layout(self, width: float) -> _Geometry:
        if self._geometry is not None and self._geometry.width == width:
            return self._geometry
        self._refill()
        column = max(60.0, width - COLUMN_X - PAD_X)
        header = self._lay_out_header(column)
        y = header.bottom
        toggle = reasoning = body = tools = None
        if self.message.reasoning:
            small = self._look.small_metrics
            toggle_height = max(small.height(), ARROW_BOX)
            toggle = QRectF(COLUMN_X, y + SPACING, ARROW_BOX + 4 + small.horizontalAdvance(REASONING), toggle_height)
            y = toggle.bottom()
            if self.reasoning_open:
                indented = column - RULE_INDENT
                reasoning = _place(self._document("reasoning"), COLUMN_X + RULE_INDENT, y + SPACING, indented)
                y = reasoning.bottom()
        if self.message.text:
            body = _place(self._document("body"), COLUMN_X, y + SPACING, column)
            y = body.bottom()
        if self.message.tool_calls:
            tools = _place(self._document("tools"), COLUMN_X, y + SPACING, column)
            y = tools.bottom()
        height = max(y + PAD_Y, 2 * PAD_Y + AVATAR + 4)
        self._geometry = _Geometry(width, height, header, toggle, reasoning, body, tools)
        return self._geometry

    def _lay_out_header(self, column: float) -> _Header:
        look, small = self._look, self._look.small_metrics
        right = COLUMN_X + column
        chip_text, chip_width, chip_height = "", 0.0, 0.0
        if self.status is not None:
            chip_text = self.status.text
            chip_width = look.chip_metrics.horizontalAdvance(chip_text) + 2 * CHIP_PAD_X
            chip_height = look.chip_metrics.height() + 2 * CHIP_PAD_Y
        author_name = self.message.author_name or "Someone"
        author = look.author_metrics.elidedText(author_name, Qt.TextElideMode.ElideRight, column * 0.6)
        author_width = look.author_metrics.horizontalAdvance(author)
        time_x = COLUMN_X + author_width + HEADER_GAP
        model_x = time_x + (small.horizontalAdvance(self._time) + HEADER_GAP if self._time else 0)
        inline_chip = not chip_text or model_x + chip_width <= right
        room = right - model_x - (chip_width + HEADER_GAP if chip_text and inline_chip else 0)
        model = small.elidedText(f"· {self.model}", Qt.TextElideMode.ElideRight, max(0.0, room)) if self.model else ""
        row_height = max(look.author_metrics.height(), small.height(), chip_height if inline_chip else 0)
        row = QRectF(COLUMN_X, PAD_Y, column, row_height)

        chip, bottom = None, row.bottom()
        if chip_text and inline_chip:
            chip = QRectF(right - chip_width, row.center().y() - chip_height / 2, chip_width, chip_height)
        elif chip_text:  # no room beside the name: on its own line, shortened to fit
            chip_text = look.chip_metrics.elidedText(chip_text, Qt.TextElideMode.ElideRight, column - 2 * CHIP_PAD_X)
            chip_width = look.chip_metrics.horizontalAdvance(chip_text) + 2 * CHIP_PAD_X
            chip = QRectF(COLUMN_X, bottom + SPACING, chip_width, chip_height)
            bottom = chip.bottom()
        return _Header(row, author, author_width, time_x, model, model_x, chip, chip_text, bottom)

    # ------------------------------------------------------------------ painting

    def paint(
        self,
        painter: QPainter,
        width: float,
        visible: QRectF,
        *,
        selection: tuple[Part, int, int] | None = None,
        toggle_hovered: bool = False,
    ) -> None:
        """Paint at the painter's origin; `visible` is the part to paint, in this block's
        coordinates (documents only draw the lines inside it)."""
        geometry = self._layout(width)
        look = self._look
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._agent:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.ASSISTANT_BUBBLE))
            painter.drawRoundedRect(QRectF(0, 0, width, geometry.height), RADIUS, RADIUS)
        circle = QRectF(PAD_X + 2, PAD_Y + 2, AVATAR, AVATAR)
        paint_avatar(painter, circle, self._label, self.color, font=look.base, agent=self._agent)

        header = geometry.header
        row = header.row
        middle = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.setFont(look.author)
        painter.setPen(style.TEXT)
        painter.drawText(QRectF(row.left(), row.top(), header.author_width + 1, row.height()), middle, header.author)
        painter.setFont(look.small)
        painter.setPen(style.TEXT_MUTED)
        if self._time:
            painter.drawText(QRectF(header.time_x, row.top(), row.width(), row.height()), middle, self._time)
        if header.model:
            painter.drawText(QRectF(header.model_x, row.top(), row.width(), row.height()), middle, header.model)
        if header.chip is not None and self.status is not None:
            foreground, background = theme.TONE_COLORS[self.status.tone]
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(background))
            radius = min(RADIUS, header.chip.height() / 2)
            painter.drawRoundedRect(header.chip, radius, radius)
            painter.setFont(look.chip)
            painter.setPen(QColor(foreground))
            painter.drawText(header.chip, Qt.AlignmentFlag.AlignCenter, header.chip_text)
        if geometry.toggle is not None:
            self._paint_toggle(painter, geometry.toggle, toggle_hovered)

        spans = {part: (start, end) for part, start, end in ([selection] if selection else [])}
        if geometry.reasoning is not None:
            rule = QRectF(COLUMN_X, geometry.reasoning.top(), 2, geometry.reasoning.height())
            painter.fillRect(rule, QColor(theme.REASONING_RULE))
            reasoning = self._document("reasoning")
            _draw(painter, reasoning, geometry.reasoning, visible, style.TEXT_MUTED, spans.get("reasoning"))
        if geometry.body is not None:
            body = self._document("body")
            _draw(painter, body, geometry.body, visible, style.TEXT, spans.get("body"), self._markdown)
        if geometry.tools is not None:
            _draw(painter, self._document("tools"), geometry.tools, visible, QColor(theme.TOOL_TEXT), None)

    def _paint_toggle(self, painter: QPainter, rect: QRectF, hovered: bool) -> None:
        color = style.TEXT if hovered else style.TEXT_MUTED
        center = QPointF(rect.left() + ARROW_BOX / 2, rect.center().y())
        arrow = QPainterPath()
        if self.reasoning_open:  # pointing down
            arrow.moveTo(center.x() - 4, center.y() - 2)
            arrow.lineTo(center.x() + 4, center.y() - 2)
            arrow.lineTo(center.x(), center.y() + 2.5)
        else:  # pointing right
            arrow.moveTo(center.x() - 2, center.y() - 4)
            arrow.lineTo(center.x() + 2.5, center.y())
            arrow.lineTo(center.x() - 2, center.y() + 4)
        arrow.closeSubpath()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPath(arrow)
        painter.setFont(self._look.small)
        painter.setPen(color)
        text = QRectF(rect.left() + ARROW_BOX + 4, rect.top(), rect.width(), rect.height())
        painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, REASONING)

    # ------------------------------------------------------------------ pointing and copying

    def hit(self, point: QPointF, width: float) -> Hit:
        """What is at `point` (this block's coordinates)."""
        geometry = self._layout(width)
        if geometry.toggle is not None and geometry.toggle.contains(point):
            return Hit("toggle")
        if geometry.header.chip is not None and geometry.header.chip.contains(point):
            return Hit("chip")
        parts: tuple[tuple[Part, QRectF | None], ...] = (("reasoning", geometry.reasoning), ("body", geometry.body))
        for part, rect in parts:
            if rect is not None and rect.contains(point):
                layout = self.document(part).documentLayout()
                local = point - rect.topLeft()
                return Hit("text", part, layout.hitTest(local, Qt.HitTestAccuracy.FuzzyHit), layout.anchorAt(local))
        return Hit("none")

    def position_at(self, part: Part, point: QPointF, width: float) -> int:
        """The text position nearest to `point` in `part`, for a selection dragged past it."""
        geometry = self._layout(width)
        rect = geometry.body if part == "body" else geometry.reasoning
        document = self.document(part)
        if rect is None or point.y() < rect.top():
            return 0
        if point.y() > rect.bottom():
            return document.characterCount() - 1
        return document.documentLayout().hitTest(point - rect.topLeft(), Qt.HitTestAccuracy.FuzzyHit)

    def word_at(self, part: Part, position: int) -> tuple[int, int]:
        cursor = _cursor(self.document(part), position, position)
        cursor.select(QTextCursor.SelectionType.WordUnderCursor)
        return cursor.anchor(), cursor.position()

    def fragment(self, part: Part, start: int, end: int) -> QTextDocumentFragment:
        return _cursor(self.document(part), start, end).selection()

    def rect_of(self, part: Area, width: float) -> QRectF | None:
        """Where a part of this message is (None when it shows none), e.g. to point at it."""
        geometry = self._layout(width)
        return {
            "toggle": geometry.toggle,
            "chip": geometry.header.chip,
            "reasoning": geometry.reasoning,
            "body": geometry.body,
            "tools": geometry.tools,
        }[part]


def _font(look: ChatLook, part: str) -> QFont:
    return {"body": look.body, "reasoning": look.reasoning, "tools": look.tools}[part]


def _new_document(font: QFont) -> QTextDocument:
    document = QTextDocument()
    document.setUndoRedoEnabled(False)
    document.setDocumentMargin(0)
    document.setDefaultFont(font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # a long link never spills out
    document.setDefaultTextOption(option)
    return document


def _place(document: QTextDocument, x: float, y: float, width: float) -> QRectF:
    if document.textWidth() != width:  # setting it, even unchanged, lays the whole text out again
        document.setTextWidth(width)
    return QRectF(x, y, width, document.size().height())


def _draw(
    painter: QPainter,
    document: QTextDocument,
    rect: QRectF,
    visible: QRectF,
    color: QColor,
    span: tuple[int, int] | None,
    markdown: chat_markdown.Decorations = chat_markdown.NONE,
) -> None:
    if not rect.intersects(visible):
        return
    context = QAbstractTextDocumentLayout.PaintContext()
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Text, color)
    palette.setColor(QPalette.ColorRole.Link, style.ACCENT)
    context.palette = palette
    context.clip = visible.translated(-rect.topLeft()).intersected(QRectF(0, 0, rect.width(), rect.height()))
    if span is not None and span[0] != span[1]:
        chosen = QAbstractTextDocumentLayout.Selection()
        chosen.cursor = _cursor(document, *span)
        highlight = QTextCharFormat()
        highlight.setBackground(QColor(theme.SELECTION))
        highlight.setForeground(style.TEXT)
        chosen.format = highlight
        context.selections = [chosen]
    painter.save()
    painter.translate(rect.topLeft())
    painter.setClipRect(context.clip)
    chat_markdown.paint_under(painter, document, markdown, context.clip)
    document.documentLayout().draw(painter, context)
    chat_markdown.paint_over(painter, document, markdown, context.clip)
    painter.restore()


def _cursor(document: QTextDocument, start: int, end: int) -> QTextCursor:
    """A selection from `start` to `end`, kept inside the text: a reply re-rendered while it
    streams may have become shorter than a selection made a moment ago."""
    last = document.characterCount() - 1
    cursor = QTextCursor(document)
    cursor.setPosition(min(start, last))
    cursor.setPosition(min(end, last), QTextCursor.MoveMode.KeepAnchor)
    return cursor


def _tool_line(call: ToolCall) -> tuple[str, str]:
    """A tool call as plain text and as one line of rich text."""
    mark, color = _TOOL_MARK.get(call.status, ("·", "#6b7280"))
    text = describe_tool_call(call)
    rich = f'<span style="color:{color}; font-weight:600">{mark}</span>&nbsp;&nbsp;{html.escape(text)}'
    return f"{mark} {text}", rich


def _tools_html(calls: tuple[ToolCall, ...]) -> str:
    lines = (f'<p style="margin-top:0; margin-bottom:2px">{_tool_line(call)[1]}</p>' for call in calls)
    return "".join(lines)
