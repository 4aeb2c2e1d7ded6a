"""Build step that ships the top-level ``resources/`` folder inside the wheel.

Everything else about the package is declared in pyproject.toml. ``resources/`` stays at the
top of the repository; building a wheel copies its data files into the built package as
``monitor/_resources/``, where :mod:`monitor.resources` finds them with importlib.resources.
An editable install (``pip install -e .``) copies nothing: it reads the checkout's folder.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = Path("resources")
PACKAGED = Path("monitor", "_resources")  # monitor.resources.PACKAGED_DIR
# Files of resources/ that the program does not read (the README's picture).
NOT_SHIPPED = {"screenshot.png"}


class BuildPyWithResources(build_py):
    """build_py, plus the data files of ``resources/`` copied to ``monitor/_resources/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib, PACKAGED)
        self.mkpath(str(target))
        for path in sorted(RESOURCES.iterdir()):
            if path.is_file() and path.name not in NOT_SHIPPED:
                self.copy_file(str(path), str(target / path.name))


# The desktop entry and the icon also go where a desktop looks for them, under the install
# prefix (a user install: ~/.local/share/…), so that spectromon shows in the application menu.
DESKTOP_FILES = [
    ("share/applications", ["resources/spectromon.desktop"]),
    ("share/icons/hicolor/scalable/apps", ["resources/spectromon.svg"]),
]

setup(cmdclass={"build_py": BuildPyWithResources}, data_files=DESKTOP_FILES)
