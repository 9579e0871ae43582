"""The app's look: one light palette and one style sheet, keyed by object names.

Widgets only set object names ("primary", "hint", "panelTitle", …) and a `tone` property;
every colour and spacing decision of the window's chrome lives here. The base colours are
those of `style` (shared with the board, map and budget), so the panels match.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from wayfarer.agent.daemon import AGENT_PRESENCE

from . import style

ACCENT = style.ACCENT.name()
TEXT = style.TEXT.name()
MUTED = style.TEXT_MUTED.name()
BORDER = style.BORDER.name()
WINDOW = style.WINDOW.name()
PANEL = style.SURFACE.name()
AGENT = AGENT_PRESENCE.color
SELECTION = "#c5d0f5"

# The chat paints its messages itself (`chat_message`), from these.
ASSISTANT_BUBBLE = "#faf8fe"
REASONING_RULE = "#e0d4f5"
TOOL_TEXT = "#495057"
TONE_COLORS = {  # a run status's tone: (text, background) of its chip
    "live": (ACCENT, "#edf1fe"),
    "muted": (MUTED, "#f1f3f5"),
    "warn": ("#a05a00", "#fff4e0"),
    "error": ("#c92a2a", "#fff0f0"),
}

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW}; }}
QWidget {{ color: {TEXT}; }}
QToolTip {{ background: {TEXT}; color: white; border: none; padding: 4px 6px; }}

#header {{ background: {PANEL}; border-bottom: 1px solid {BORDER}; }}
#tripTitle {{ font-size: 17px; font-weight: 600; border: 1px solid transparent; border-radius: 6px;
    padding: 3px 6px; background: transparent; }}
#tripTitle:hover {{ border-color: {BORDER}; }}
#tripTitle:focus {{ border-color: {ACCENT}; background: white; }}
#subtitle, #hint, #time {{ color: {MUTED}; font-size: 12px; }}
#section {{ font-weight: 600; color: {MUTED}; padding-top: 10px; font-size: 12px; qproperty-indent: 0; }}
#error {{ color: #c92a2a; }}
#panelTitle {{ font-size: 13px; font-weight: 600; color: {MUTED}; letter-spacing: 0.5px; }}
#panel {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 10px; }}
#placeholder {{ color: {MUTED}; }}

QPushButton {{ background: white; border: 1px solid #d0d5db; border-radius: 6px; padding: 5px 12px; }}
QPushButton:hover {{ background: #f1f3f5; }}
QPushButton:disabled {{ color: #adb5bd; background: #f8f9fa; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT}; font-weight: 600; }}
QPushButton#primary:hover {{ background: #364fc7; }}
QPushButton#primary:disabled {{ background: #a5b4ec; border-color: #a5b4ec; }}
QPushButton#danger {{ color: #c92a2a; }}
QPushButton#danger:disabled {{ color: #adb5bd; }}
QPushButton#stopButton {{ color: #c92a2a; border-color: #f1aeb5; font-weight: 600; }}
QToolButton#shareButton {{ background: white; border: 1px solid #d0d5db; border-radius: 6px; padding: 5px 12px;
    font-weight: 600; }}
QToolButton#shareButton:hover {{ background: #f1f3f5; }}
QToolButton#shareButton:disabled {{ color: #adb5bd; }}
QToolButton#shareButton::menu-indicator {{ image: none; width: 0; }}
QPushButton#linkButton {{ border: none; color: {ACCENT}; font-weight: 600; background: transparent; }}
QPushButton#suggestion {{ border-radius: 14px; padding: 5px 12px; color: {ACCENT}; border-color: #c5d0f5;
    background: #f3f5fe; }}
QPushButton#suggestion:hover {{ background: #e7ecfd; }}
QPushButton#suggestion:disabled {{ color: #adb5bd; border-color: {BORDER}; background: #f8f9fa; }}
QLineEdit, QPlainTextEdit {{ background: white; border: 1px solid #d0d5db; border-radius: 6px;
    padding: 4px 6px; selection-background-color: {SELECTION}; selection-color: {TEXT}; }}
QLineEdit:focus, QPlainTextEdit:focus {{ border-color: {ACCENT}; }}
QPlainTextEdit:disabled, QLineEdit:disabled {{ background: #f8f9fa; color: {MUTED}; }}

QSplitter::handle {{ background: {WINDOW}; }}
QScrollArea {{ background: transparent; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: #cfd4da; border-radius: 3px; min-height: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; }}
QMenuBar {{ background: {PANEL}; }}

#chatPanel {{ background: {PANEL}; }}
#composerArea {{ background: {PANEL}; border-top: 1px solid {BORDER}; }}
#composer {{ font-size: 13px; }}
#agentChip {{ color: {AGENT}; background: #f4eefc; border-radius: 9px; padding: 2px 8px; font-size: 12px; }}
#emptyTitle {{ font-size: 16px; font-weight: 600; }}
#author {{ font-weight: 600; }}
#queueBar {{ background: #fff8e6; border: 1px solid #ffe3a3; border-radius: 6px; }}

#presenceStatus {{ color: {MUTED}; font-size: 12px; }}
#syncIndicator {{ color: {MUTED}; font-size: 12px; }}
#banner {{ background: #fff0f0; border-bottom: 1px solid #ffc9c9; }}
#banner QLabel {{ color: #a61e1e; }}
#viewerBanner {{ background: #edf1fe; border-bottom: 1px solid #c5d0f5; }}

#startScreen {{ background: {WINDOW}; }}
#brand {{ font-size: 26px; font-weight: 700; }}
#tripList {{ background: white; border: 1px solid {BORDER}; border-radius: 10px; padding: 4px; outline: none; }}
#tripList::item {{ border-radius: 6px; padding: 2px; }}
#tripList::item:selected {{ background: #edf1fe; color: {TEXT}; }}
#tripList::item:hover:!selected {{ background: #f8f9fa; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(WINDOW))
    palette.setColor(QPalette.ColorRole.Base, QColor(PANEL))
    palette.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(style.TEXT_FAINT))
    app.setPalette(palette)
    app.setFont(style.ui_font(10.0))
    app.setStyleSheet(STYLE_SHEET)
