"""The look of the instrument: dark (default) or light, at a UI scale. Qt palette, style sheet
and pyqtgraph defaults; :func:`restyle_plots` carries a change to plots already made.

pyqtgraph is imported only by the views built when first shown (the octave bands, the nodes
window): its defaults are set when it is imported through :func:`pyqtgraph_module`, or by
:func:`apply_theme` once it is loaded. The window's first picture needs none of it (its import
alone was ~0.17 s of the start).
"""

from __future__ import annotations

import sys

from PyQt6 import QtGui, QtWidgets

__all__ = ["apply_theme", "COLORS", "THEMES", "cache_static_items", "fixed_plot",
           "restyle_plots", "current_theme", "pyqtgraph_module"]

THEMES = {
    "dark": {
        "window": "#16181c", "panel": "#1d2026", "base": "#0e1013", "plot": "#0b0c0f",
        "text": "#d5d9e0", "dim": "#8a919c", "accent": "#f0a030", "trace": "#58c4ff",
        "hold": "#f0a030", "grid": "#2a2e36", "danger": "#e0403a", "ok": "#3ec46d",
        "checked": "#3a3020", "highlight": "#8a5a14", "lost": "#5a1512", "notice": "#4a3610",
        "notice_text": "#f5deb0",
    },
    "light": {
        "window": "#f3f4f6", "panel": "#e6e8ec", "base": "#ffffff", "plot": "#ffffff",
        "text": "#1c1f24", "dim": "#5a616c", "accent": "#b86a00", "trace": "#0b62b0",
        "hold": "#c06000", "grid": "#c4c8d0", "danger": "#c0271f", "ok": "#1c8a45",
        "checked": "#fbe3bf", "highlight": "#f0b860", "lost": "#f7d0cc", "notice": "#fbe8c4",
        "notice_text": "#4a3000",
    },
}
#: The colours in force (updated in place by :func:`apply_theme`, so importers see them).
COLORS = dict(THEMES["dark"])
BASE_POINT_SIZE = 9.0  # pt: the application font at UI scale 1

_STYLE = """
QMainWindow, QDockWidget, QWidget {{ color: {text}; }}
QDockWidget::title {{ background: {panel}; padding: 4px 6px; font-weight: bold; }}
QGroupBox {{ border: 1px solid {grid}; border-radius: 4px; margin-top: 14px;
             padding-top: 4px; font-weight: bold; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {dim}; }}
QStatusBar {{ background: {panel}; color: {dim}; }}
QStatusBar QLabel {{ color: {dim}; padding: 0 4px; font-size: {small}pt; }}
QToolButton {{ background: {panel}; border: 1px solid {grid}; border-radius: 3px;
               padding: 3px 9px; }}
QToolButton:checked {{ background: {checked}; border-color: {accent}; color: {accent}; }}
QToolButton:hover {{ border-color: {dim}; }}
QToolButton:disabled {{ color: {grid}; }}
QFrame#inputLost {{ background: {lost}; border: 1px solid {danger}; border-radius: 4px; }}
QFrame#notice {{ background: {notice}; border: 1px solid {accent}; border-radius: 4px; }}
QFrame#notice QLabel {{ color: {notice_text}; }}
QLabel#cursorReadout {{ color: {accent}; font-family: monospace; }}
QLabel#panelTitle {{ color: {dim}; font-weight: bold; }}
QListView#completerPopup {{ background: {base}; color: {text}; border: 1px solid {accent};
                            selection-background-color: {highlight}; padding: 2px; }}
QMenuBar {{ background: {window}; }}
QMenu {{ background: {panel}; border: 1px solid {grid}; }}
QMenu::item:selected {{ background: {highlight}; }}
QFrame#projectorBar QLabel {{ color: {text}; }}
QLabel#projectorLabels {{ color: {accent}; font-weight: bold; }}
"""


def current_theme(app: QtWidgets.QApplication) -> tuple:
    """(theme name, UI scale) last applied, or (None, None)."""
    return app.property("spectromon_theme") or (None, None)


def apply_theme(app: QtWidgets.QApplication, name: str = "dark", scale: float = 1.0) -> bool:
    """Fusion style with the ``name`` palette, fonts at ``scale``; pyqtgraph defaults for
    new plots. Does nothing when that theme and scale are already applied; returns True when
    something changed."""
    if tuple(app.property("spectromon_theme") or ()) == (name, float(scale)):
        return False
    app.setProperty("spectromon_theme", (name, float(scale)))
    COLORS.clear()
    COLORS.update(THEMES.get(name, THEMES["dark"]))
    app.setStyle("Fusion")
    c = {k: QtGui.QColor(v) for k, v in COLORS.items()}
    pal = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    pal.setColor(role.Window, c["window"])
    pal.setColor(role.WindowText, c["text"])
    pal.setColor(role.Base, c["base"])
    pal.setColor(role.AlternateBase, c["panel"])
    pal.setColor(role.ToolTipBase, c["panel"])
    pal.setColor(role.ToolTipText, c["text"])
    pal.setColor(role.Text, c["text"])
    pal.setColor(role.Button, c["panel"])
    pal.setColor(role.ButtonText, c["text"])
    pal.setColor(role.Highlight, c["highlight"])
    pal.setColor(role.HighlightedText, QtGui.QColor("#ffffff" if name == "dark" else "#000000"))
    pal.setColor(role.PlaceholderText, c["dim"])
    for group in (QtGui.QPalette.ColorGroup.Disabled,):
        pal.setColor(group, role.Text, c["dim"])
        pal.setColor(group, role.ButtonText, c["dim"])
        pal.setColor(group, role.WindowText, c["dim"])
    app.setPalette(pal)
    font = app.font()
    font.setPointSizeF(BASE_POINT_SIZE * scale)
    app.setFont(font)
    app.setStyleSheet(_STYLE.format(small=f"{8.5 * scale:.1f}", **COLORS))
    if "pyqtgraph" in sys.modules:  # new plots in these colours; not imported for it
        _pyqtgraph_defaults(sys.modules["pyqtgraph"])
    return True


def _pyqtgraph_defaults(pg) -> None:
    pg.setConfigOptions(background=COLORS["plot"], foreground=COLORS["dim"], antialias=False)


def pyqtgraph_module():
    """``pyqtgraph``, imported now if it was not, its defaults (background, foreground, no
    antialiasing) those of the theme in force."""
    import pyqtgraph as pg

    _pyqtgraph_defaults(pg)
    return pg


def fixed_plot(title: str, axis_items: dict | None = None):
    """A plot the user does not pan or zoom: no menu, no buttons, a faint grid, a small title
    (a ``pyqtgraph.PlotWidget``)."""
    pg = pyqtgraph_module()
    plot = pg.PlotWidget(axisItems=axis_items)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(False, False)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setTitle(title, color=COLORS["dim"], size="9pt")
    return plot


def restyle_plots(root: QtWidgets.QWidget, scale: float) -> None:
    """Carry the colours in force and the UI ``scale`` to every pyqtgraph plot under
    ``root``: background, axis pens and fonts (ticks and labels). Without pyqtgraph loaded
    there is no such plot: nothing to do."""
    pg = sys.modules.get("pyqtgraph")
    if pg is None:
        return
    tick_font = QtGui.QFont()
    tick_font.setPointSizeF(8.0 * scale)
    for plot in root.findChildren(pg.PlotWidget):
        plot.setBackground(COLORS["plot"])
        item = plot.getPlotItem()
        for entry in item.axes.values():
            axis = entry["item"]
            axis.setPen(COLORS["dim"])
            axis.setTextPen(COLORS["dim"])
            axis.setStyle(tickFont=tick_font, tickTextOffset=max(2, int(3 * scale)))
            axis.labelStyle = {"color": COLORS["dim"], "font-size": f"{9 * scale:.1f}pt"}
            axis._updateLabel()
            axis.picture = None
            axis.update()
        title = item.titleLabel
        if title.text:
            title.setText(title.text, color=COLORS["dim"], size=f"{9 * scale:.1f}pt")


def cache_static_items(plot) -> None:
    """Render the axes (and title) of ``plot`` (a ``pyqtgraph.PlotWidget``) once into pixmaps.

    The data items change at the display rate and their dirty regions overlap the axes; without
    a cache every frame re-renders every tick label (measured: a quarter of the GUI's CPU).
    """
    item = plot.getPlotItem()
    cache = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    for axis in item.axes.values():
        axis["item"].setCacheMode(cache)
    item.titleLabel.setCacheMode(cache)
