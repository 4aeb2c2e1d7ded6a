"""The window of the monitor (PyQt6 + pyqtgraph). Nothing outside this package imports Qt.

Each view keeps its logic, its settings handling and its widget side by side:
:mod:`~monitor.gui.waterfall`, :mod:`~monitor.gui.spectrum`, :mod:`~monitor.gui.scope`,
:mod:`~monitor.gui.meters`, :mod:`~monitor.gui.controls`, :mod:`~monitor.gui.status`;
:mod:`~monitor.gui.main_window` assembles them and drives them from one display timer.
"""
