"""The dark look of the instrument: Qt palette, style sheet and pyqtgraph defaults."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

__all__ = ["apply_theme", "COLORS", "cache_static_items"]

COLORS = {
    "window": "#16181c", "panel": "#1d2026", "base": "#0e1013", "plot": "#0b0c0f",
    "text": "#d5d9e0", "dim": "#8a919c", "accent": "#f0a030", "trace": "#58c4ff",
    "hold": "#f0a030", "grid": "#2a2e36", "danger": "#e0403a", "ok": "#3ec46d",
}

_STYLE = f"""
QMainWindow, QDockWidget, QWidget {{ color: {COLORS['text']}; }}
QDockWidget::title {{ background: {COLORS['panel']}; padding: 4px 6px; font-weight: bold; }}
QGroupBox {{ border: 1px solid {COLORS['grid']}; border-radius: 4px; margin-top: 14px;
             padding-top: 4px; font-weight: bold; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px;
                    color: {COLORS['dim']}; }}
QStatusBar {{ background: {COLORS['panel']}; color: {COLORS['dim']}; }}
QStatusBar QLabel {{ color: {COLORS['dim']}; padding: 0 4px; font-size: 8.5pt; }}
QToolButton {{ background: {COLORS['panel']}; border: 1px solid {COLORS['grid']};
               border-radius: 3px; padding: 3px 9px; }}
QToolButton:checked {{ background: #3a3020; border-color: {COLORS['accent']};
                       color: {COLORS['accent']}; }}
QToolButton:hover {{ border-color: {COLORS['dim']}; }}
QFrame#inputLost {{ background: #5a1512; border: 1px solid {COLORS['danger']};
                    border-radius: 4px; }}
QFrame#notice {{ background: #4a3610; border: 1px solid {COLORS['accent']};
                 border-radius: 4px; }}
QFrame#notice QLabel {{ color: #f5deb0; }}
QLabel#cursorReadout {{ color: {COLORS['accent']}; font-family: monospace; }}
QLabel#panelTitle {{ color: {COLORS['dim']}; font-weight: bold; }}
"""


def apply_theme(app: QtWidgets.QApplication) -> None:
    """Fusion style with a dark palette; dark pyqtgraph plots. Safe to call more than once."""
    if app.property("spectromon_theme"):
        return
    app.setProperty("spectromon_theme", True)
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
    pal.setColor(role.Highlight, QtGui.QColor("#8a5a14"))
    pal.setColor(role.HighlightedText, QtGui.QColor("#ffffff"))
    pal.setColor(role.PlaceholderText, c["dim"])
    for group in (QtGui.QPalette.ColorGroup.Disabled,):
        pal.setColor(group, role.Text, c["dim"])
        pal.setColor(group, role.ButtonText, c["dim"])
        pal.setColor(group, role.WindowText, c["dim"])
    app.setPalette(pal)
    app.setStyleSheet(_STYLE)
    pg.setConfigOptions(background=COLORS["plot"], foreground=COLORS["dim"], antialias=False)


def fixed_plot(title: str, axis_items: dict | None = None) -> pg.PlotWidget:
    """A plot the user does not pan or zoom: no menu, no buttons, a faint grid, a small title."""
    plot = pg.PlotWidget(axisItems=axis_items)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(False, False)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setTitle(title, color=COLORS["dim"], size="9pt")
    return plot


def cache_static_items(plot: pg.PlotWidget) -> None:
    """Render the axes (and title) of ``plot`` once into pixmaps.

    The data items change at the display rate and their dirty regions overlap the axes; without
    a cache every frame re-renders every tick label (measured: a quarter of the GUI's CPU).
    """
    item = plot.getPlotItem()
    cache = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    for axis in item.axes.values():
        axis["item"].setCacheMode(cache)
    item.titleLabel.setCacheMode(cache)
