"""The map: an offline basemap with a numbered pin per stop and a route line per day.

A `QGraphicsView` over a scene in Web Mercator: the countries (Natural Earth outlines
shipped with the app, via `basemap`) are path items drawn once per level of detail and
kept for the life of the process; pins ignore the view's zoom, so they keep their size.
Pins and routes follow `TripModel.itinerary_changed` item by item: a stop's edit moves,
recolours or renumbers only the pins that changed, nothing is rebuilt.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsDropShadowEffect,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QStyleOptionGraphicsItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from wayfarer.trip import Stop, TripSnapshot

from . import basemap, style
from .icons import badge_rect, icon
from .selection import StopSelection
from .trip_model import TripModel

WORLD = 4096.0  # scene units across the world (Web Mercator is a square)
_DETAIL_BELOW_DEG = 40.0  # the finer outlines once less than this much longitude shows
_FADE_BELOW_DEG = 4.0  # closer than this, outlines are too coarse to be trusted
_MIN_SPAN_DEG = 0.02  # a trip at one spot still fits to a few streets, not to one metre
_ZOOM_STEP = 1.5
_LEGEND_DAYS = 8  # a long trip's legend would cover the map
_FIT_MARGIN = 16  # px around the trip when it is fitted into view
_PIN_HEIGHT = 30  # px a pin stands above its point


def to_scene(lon: float, lat: float) -> QPointF:
    """WGS 84 → scene: Web Mercator's unit square (north-west at 0, 0) times WORLD."""
    x, y = basemap.project(lon, lat)
    return QPointF(x * WORLD, y * WORLD)


# ---------------------------------------------------------------------- basemap

_COUNTRY_PATHS: dict[str, list[QPainterPath]] = {}


def country_paths(detail: basemap.Detail) -> list[QPainterPath]:
    """The outlines of every country at `detail`, built once per process."""
    if detail not in _COUNTRY_PATHS:
        _COUNTRY_PATHS[detail] = [_path(country.rings) for country in basemap.load_countries(detail)]
    return _COUNTRY_PATHS[detail]


def _path(rings: Iterable[basemap.Ring]) -> QPainterPath:
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)  # holes (Lesotho in South Africa) stay holes
    for ring in rings:
        path.addPolygon(QPolygonF([to_scene(lon, lat) for lon, lat in ring]))
        path.closeSubpath()
    return path


class _Basemap:
    """The country layer of one scene, coarse when zoomed out and finer when zoomed in."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self._scene = scene
        self._layers: dict[str, list[QGraphicsPathItem]] = {}
        self.detail: str = ""

    def show(self, detail: basemap.Detail, *, faded: bool) -> None:
        """Show one level of detail; `faded` when zoomed in past what the outlines can
        say (a 1:50m coastline is kilometres off: a city's stops would seem to be at sea)."""
        opacity = 0.4 if faded else 1.0
        for items in self._layers.values():
            for item in items:
                if item.opacity() != opacity:
                    item.setOpacity(opacity)
        if detail == self.detail:
            return
        if detail not in self._layers:
            pen = QPen(style.COASTLINE, 0.8)
            pen.setCosmetic(True)
            items = []
            for path in country_paths(detail):
                item = self._scene.addPath(path, pen, style.LAND)
                item.setZValue(0)
                item.setOpacity(opacity)
                items.append(item)
            self._layers[detail] = items
        for name, items in self._layers.items():
            for item in items:
                item.setVisible(name == detail)
        self.detail = detail


# ---------------------------------------------------------------------- pins


class PinItem(QGraphicsItem):
    """A stop's pin: day colour, its number in the day, its name while selected."""

    _HEAD = 9.5  # radius
    _TIP = 8.0  # from the head's edge down to the point

    def __init__(self, stop_id: str) -> None:
        super().__init__()
        self.stop_id = stop_id
        self.color = QColor(style.UNSCHEDULED_COLOR)
        self.number = ""
        self.name = ""
        self.selected = False
        self._hovered = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._font = style.ui_font(8.5, QFont.Weight.Bold)
        self._label_font = style.ui_font(9.0, QFont.Weight.DemiBold)

    def show_stop(self, stop: Stop, color: QColor, number: str, where: str) -> None:
        """Place and label the pin; repaints only when something it shows changed."""
        position = to_scene(stop.lon, stop.lat)
        if position != self.pos():
            self.setPos(position)
        if (color, number, stop.name) != (self.color, self.number, self.name):
            self.prepareGeometryChange()
            self.color, self.number, self.name = QColor(color), number, stop.name
            self.update()
        tooltip = f"{stop.name}\n{where}"
        if tooltip != self.toolTip():
            self.setToolTip(tooltip)

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.prepareGeometryChange()
            self.selected = selected
            self.setZValue(100 if selected else 10)
            self.update()

    def _scale(self) -> float:
        return 1.25 if self.selected else (1.1 if self._hovered else 1.0)

    def _label_width(self) -> float:
        return QFontMetricsF(self._label_font).horizontalAdvance(self.name) + 20

    def boundingRect(self) -> QRectF:
        s = self._scale()
        head = self._HEAD * s
        height = (2 * head + self._TIP * s) + 4
        rect = QRectF(-head - 3, -height, 2 * head + 6, height + 4)
        if self.selected:
            rect.setRight(head + 8 + self._label_width() + 4)
        return rect

    def hoverEnterEvent(self, event: object) -> None:
        self.prepareGeometryChange()
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event: object) -> None:
        self.prepareGeometryChange()
        self._hovered = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        s = self._scale()
        head = self._HEAD * s
        center = QPointF(0, -(head + self._TIP * s))

        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 40))
        painter.drawEllipse(QPointF(0, 0), 5 * s, 2 * s)  # where the tip meets the ground

        pin = QPainterPath()
        pin.addEllipse(center, head, head)
        tip = QPainterPath()
        tip.moveTo(-head * 0.62, center.y() + head * 0.72)
        tip.lineTo(0, 0)
        tip.lineTo(head * 0.62, center.y() + head * 0.72)
        tip.closeSubpath()
        painter.setPen(QPen(QColor("white"), 2.0))
        painter.setBrush(self.color)
        painter.drawPath(pin.united(tip))
        if self.selected:
            painter.setPen(QPen(style.tinted(self.color, 0.35), 3.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(center, head + 3.5, head + 3.5)

        painter.setPen(QColor("white"))
        if self.number:
            painter.setFont(self._font)
            painter.drawText(badge_rect(center, 2 * head), Qt.AlignmentFlag.AlignCenter, self.number)
        else:
            painter.setBrush(QColor("white"))
            painter.drawEllipse(center, 3.0, 3.0)

        if self.selected:
            self._paint_label(painter, QPointF(head + 8, center.y()))

    def _paint_label(self, painter: QPainter, left_center: QPointF) -> None:
        bubble = QRectF(left_center.x(), left_center.y() - 12, self._label_width(), 24)
        painter.setPen(QPen(style.BORDER, 1.0))
        painter.setBrush(style.SURFACE)
        painter.drawRoundedRect(bubble, 12, 12)
        painter.setFont(self._label_font)
        painter.setPen(style.TEXT)
        painter.drawText(bubble, Qt.AlignmentFlag.AlignCenter, self.name)


# ---------------------------------------------------------------------- the view


class MapView(QGraphicsView):
    """Pan by dragging, zoom with the wheel or the +/- buttons; a pin click selects."""

    def __init__(self, model: TripModel, selection: StopSelection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._selection = selection
        self._pins: dict[str, PinItem] = {}
        self._routes: dict[str, QGraphicsPathItem] = {}
        self._fit_pending = True  # the first sight of the map shows the whole trip
        # While the person has not panned or zoomed, the map follows the plan as it grows
        # (the agent adds stops one by one); their own view is never taken from them.
        self._follow = True

        self.setScene(QGraphicsScene(self))
        self.scene().setSceneRect(QRectF(0, 0, WORLD, WORLD))
        self.setBackgroundBrush(style.SEA)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        # Zooming keeps its own anchor (`zoom`); a resize keeps the centre.
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self._basemap = _Basemap(self.scene())
        self._basemap.show("110m", faded=False)

        self.zoom_in_button = self._button("plus", "Zoom in", lambda: self._zoom_by_hand(_ZOOM_STEP))
        self.zoom_out_button = self._button("minus", "Zoom out", lambda: self._zoom_by_hand(1 / _ZOOM_STEP))
        self.fit_button = self._button("fit", "Show the whole trip", self._fit_and_follow)
        self._controls = self._control_box()
        self.legend = QLabel(self, objectName="legend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet(_MAP_STYLE)

        model.itinerary_changed.connect(lambda _days, _stops: self._sync(model.snapshot))
        selection.changed.connect(self._show_selection)
        self._sync(model.snapshot)
        self._show_selection(selection.stop_id)

    # ------------------------------------------------------------------ what tests and the window read

    @property
    def pins(self) -> dict[str, PinItem]:
        return dict(self._pins)

    @property
    def routes(self) -> dict[str, QGraphicsPathItem]:
        """The route line of each day, by day id."""
        return dict(self._routes)

    @property
    def detail(self) -> str:
        return self._basemap.detail

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    # ------------------------------------------------------------------ following the trip

    def _sync(self, snapshot: TripSnapshot) -> None:
        had_pins = set(self._pins)
        numbers = {d.id: i for i, d in enumerate(snapshot.days)}
        order: dict[str, int] = {}
        for stop in snapshot.stops:
            pin = self._pins.get(stop.id)
            if pin is None:
                pin = self._pins[stop.id] = PinItem(stop.id)
                pin.setZValue(10)
                self.scene().addItem(pin)
                pin.set_selected(stop.id == self._selection.stop_id)
            day = numbers.get(stop.day, -1)
            if day >= 0:
                order[stop.day] = order.get(stop.day, 0) + 1
                where = f"Day {day + 1} · stop {order[stop.day]}"
                pin.show_stop(stop, style.day_color(day), str(order[stop.day]), where)
            else:
                pin.show_stop(stop, style.day_color(-1), "", "Unscheduled")
        present = {s.id for s in snapshot.stops}
        for stop_id in [i for i in self._pins if i not in present]:
            self.scene().removeItem(self._pins.pop(stop_id))
        self._sync_routes(snapshot, numbers)
        self._sync_legend(snapshot)
        if self._pins and (not had_pins or (self._follow and not set(self._pins) <= had_pins)):
            self._fit_pending = True
        if self._fit_pending and self.isVisible():
            self.fit_to_trip()
        self.viewport().update()  # the empty-map hint comes and goes

    def _sync_routes(self, snapshot: TripSnapshot, numbers: dict[str, int]) -> None:
        for day in snapshot.days:
            stops = snapshot.stops_in(day.id)
            path = QPainterPath()
            for i, stop in enumerate(stops):
                point = to_scene(stop.lon, stop.lat)
                if i == 0:
                    path.moveTo(point)
                else:
                    path.lineTo(point)
            route = self._routes.get(day.id)
            if route is None:
                route = self._routes[day.id] = self.scene().addPath(QPainterPath())
                route.setZValue(5)
            pen = QPen(style.tinted(style.day_color(numbers[day.id]), 0.75), 3.0)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            if route.pen() != pen:
                route.setPen(pen)
            if route.path() != path:
                route.setPath(path)
        for day_id in [d for d in self._routes if d not in numbers]:
            self.scene().removeItem(self._routes.pop(day_id))

    def _sync_legend(self, snapshot: TripSnapshot) -> None:
        rows = []
        for i, day in enumerate(snapshot.days[:_LEGEND_DAYS]):
            title = f"Day {i + 1}" + (f" · {_escape(day.title)}" if day.title else "")
            rows.append(f'<span style="color:{style.day_color(i).name()}">●</span>&nbsp;{title}')
        if len(snapshot.days) > _LEGEND_DAYS:
            rows.append(f"… and {len(snapshot.days) - _LEGEND_DAYS} more days")
        if snapshot.unscheduled:
            rows.append(f'<span style="color:{style.UNSCHEDULED_COLOR.name()}">●</span>&nbsp;Unscheduled')
        text = "<br>".join(rows)
        if text != self.legend.text():
            self.legend.setText(text)
            self.legend.adjustSize()
            self._place_overlays()
        self.legend.setVisible(bool(rows))

    # ------------------------------------------------------------------ selection

    def _show_selection(self, stop_id: str) -> None:
        for pin in self._pins.values():
            pin.set_selected(pin.stop_id == stop_id)
        pin = self._pins.get(stop_id)
        comfortable = QRectF(self.viewport().rect()).adjusted(60, 60, -60, -60)
        if pin is not None and self.isVisible() and not comfortable.contains(self.mapFromScene(pin.pos())):
            self.centerOn(pin.pos())  # into view, at the zoom the person chose

    def mousePressEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        if isinstance(item, PinItem) and event.button() == Qt.MouseButton.LeftButton:
            self._selection.select(item.stop_id)
            event.accept()
            return
        self._follow = False  # a drag: the person takes the view
        super().mousePressEvent(event)

    # ------------------------------------------------------------------ pan and zoom

    def _zoom_by_hand(self, factor: float) -> None:
        self._follow = False
        self.zoom(factor)

    def _fit_and_follow(self) -> None:
        self._follow = True
        self.fit_to_trip()

    def fit_to_trip(self) -> None:
        """Zoom to show every pin (the whole world when there are none), clear of the
        legend and the zoom buttons."""
        self._fit_pending = not self.isVisible()
        points = [pin.pos() for pin in self._pins.values()]
        if not points:
            self.fitInView(QRectF(to_scene(-170, 72), to_scene(180, -56)), Qt.AspectRatioMode.KeepAspectRatio)
            self._clamp_zoom()
            self._update_detail()
            return
        left, right = min(p.x() for p in points), max(p.x() for p in points)
        top, bottom = min(p.y() for p in points), max(p.y() for p in points)
        rect = QRectF(QPointF(left, top), QPointF(right, bottom))
        least = _MIN_SPAN_DEG / 360.0 * WORLD
        if rect.width() < least and rect.height() < least:
            rect = QRectF(rect.center().x() - least / 2, rect.center().y() - least / 2, least, least)
        self._fit(rect)

    def free_area(self) -> QRectF:
        """The part of the viewport where a pin is seen whole: inside a margin, under a
        pin's height at the top, left of the zoom buttons and above the legend."""
        area = QRectF(self.viewport().rect()).adjusted(_FIT_MARGIN, _FIT_MARGIN + _PIN_HEIGHT, -_FIT_MARGIN, -_FIT_MARGIN)
        area.setRight(min(area.right(), self._controls.geometry().left() - _FIT_MARGIN))
        if self.legend.isVisibleTo(self):
            area.setBottom(min(area.bottom(), self.legend.geometry().top() - _FIT_MARGIN / 2))
        return area if area.width() > 40 and area.height() > 40 else QRectF(self.viewport().rect())

    def _fit(self, rect: QRectF) -> None:
        """Show `rect` (scene) as large as it fits in `free_area`, centred there."""
        free = self.free_area()
        scale = min(free.width() / max(rect.width(), 1e-9), free.height() / max(rect.height(), 1e-9))
        self.resetTransform()
        self.scale(scale, scale)
        self._clamp_zoom()
        scale = self.transform().m11()
        offset = free.center() - QPointF(self.viewport().rect().center())
        self.centerOn(rect.center() - offset / scale)
        self._update_detail()

    def zoom(self, factor: float, about: QPointF | None = None) -> None:
        """Zoom by `factor`, keeping the point at `about` (viewport pixels; default: the
        centre) where it is on screen."""
        anchor = about if about is not None else QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        self.scale(factor, factor)
        self._clamp_zoom()
        after = self.mapToScene(anchor.toPoint())
        center = self.mapToScene(self.viewport().rect().center())
        self.centerOn(center + before - after)
        self._update_detail()

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._follow = False
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(1.25**steps, event.position())
        event.accept()

    def visible_degrees(self) -> float:
        """How much longitude the view spans now."""
        scale = self.transform().m11() or 1.0
        return self.viewport().width() / scale / WORLD * 360.0

    def _clamp_zoom(self) -> None:
        width = max(1, self.viewport().width())
        least = width / WORLD  # the whole world across
        most = width / (0.005 / 360.0 * WORLD)  # a few hundred metres across
        scale = self.transform().m11()
        clamped = max(least, min(most, scale))
        if scale and abs(clamped - scale) > 1e-12:
            self.scale(clamped / scale, clamped / scale)

    def _update_detail(self) -> None:
        span = self.visible_degrees()
        self._basemap.show("50m" if span < _DETAIL_BELOW_DEG else "110m", faded=span < _FADE_BELOW_DEG)

    # ------------------------------------------------------------------ overlays

    def _button(self, icon_name: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton(objectName="mapButton")
        button.setIcon(icon(icon_name))
        button.setToolTip(tip)
        button.setFixedSize(32, 32)
        button.clicked.connect(slot)
        return button

    def _control_box(self) -> QFrame:
        box = QFrame(self, objectName="mapControls")
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        for button in (self.zoom_in_button, self.zoom_out_button, self.fit_button):
            column.addWidget(button)
        shadow = QGraphicsDropShadowEffect(box, blurRadius=12, offset=QPointF(0, 1), color=QColor(0, 0, 0, 45))
        box.setGraphicsEffect(shadow)
        box.adjustSize()
        return box

    def _place_overlays(self) -> None:
        self._controls.move(self.width() - self._controls.width() - 12, 12)
        self.legend.move(12, self.height() - self.legend.height() - 12)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_overlays()
        # Until the person pans or zooms, the whole trip stays in sight at any size.
        if self._fit_pending or (self._follow and self._pins):
            self.fit_to_trip()
        else:
            self._clamp_zoom()
            self._update_detail()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._fit_pending:
            self.fit_to_trip()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        painter.save()
        painter.resetTransform()  # draw in viewport pixels
        view = QRectF(self.viewport().rect())
        painter.setFont(style.ui_font(7.5))
        painter.setPen(style.TEXT_FAINT)
        painter.drawText(
            view.adjusted(0, 0, -8, -4), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, "© Natural Earth"
        )
        self._paint_scale_bar(painter, QPointF(view.right() - 12, view.bottom() - 22))
        if not self._pins:
            self._paint_hint(painter, view, "Stops appear here as pins, coloured by day")
        painter.restore()

    def _paint_scale_bar(self, painter: QPainter, bottom_right: QPointF) -> None:
        """A bar of a round distance, at most 100 px long, true at the view's centre."""
        scale = self.transform().m11()
        center = self.mapToScene(self.viewport().rect().center())
        _lon, lat = basemap.unproject(center.x() / WORLD, center.y() / WORLD)
        metres_per_px = 360.0 / WORLD / scale * 111_320.0 * math.cos(math.radians(lat))
        if metres_per_px <= 0:
            return
        metres = _round_distance(metres_per_px * 100)
        length = metres / metres_per_px
        label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
        left = bottom_right.x() - length
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(style.TEXT_MUTED, 1.5))
        y = bottom_right.y()
        painter.drawLine(QPointF(left, y), QPointF(bottom_right.x(), y))
        painter.drawLine(QPointF(left, y - 4), QPointF(left, y))
        painter.drawLine(QPointF(bottom_right.x(), y - 4), QPointF(bottom_right.x(), y))
        painter.setFont(style.ui_font(7.5))
        painter.drawText(QRectF(left, y - 18, length, 14), Qt.AlignmentFlag.AlignCenter, label)

    @staticmethod
    def _paint_hint(painter: QPainter, view: QRectF, text: str) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = style.ui_font(10.0)
        width = QFontMetricsF(font).horizontalAdvance(text) + 32
        pill = QRectF(view.center().x() - width / 2, view.bottom() - 64, width, 34)
        painter.setPen(QPen(style.BORDER, 1.0))
        painter.setBrush(style.SURFACE)
        painter.drawRoundedRect(pill, 17, 17)
        painter.setFont(font)
        painter.setPen(style.TEXT_MUTED)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)


def _round_distance(metres: float) -> float:
    """The largest 1, 2 or 5 × 10^n metres not above `metres`."""
    power = 10 ** math.floor(math.log10(metres))
    return next(step * power for step in (5, 2, 1) if step * power <= metres)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MAP_STYLE = f"""
QFrame#mapControls {{ background: {style.SURFACE.name()}; border: 1px solid {style.BORDER.name()}; border-radius: 8px; }}
QToolButton#mapButton {{ background: transparent; border: none; border-radius: 8px; }}
QToolButton#mapButton:hover {{ background: {style.SURFACE_ALT.name()}; }}
QLabel#legend {{
    background: rgba(255, 255, 255, 235); border: 1px solid {style.BORDER.name()}; border-radius: 8px;
    padding: 6px 10px; color: {style.TEXT.name()}; font-size: 8.5pt;
}}
"""
