"""Where the program's data files are: the demo recording, the AudioSet label hierarchy.

The files live in the repository's top-level ``resources/`` folder. A built wheel carries them
as package data, ``monitor/_resources/`` (copied there by the build step in ``setup.py``), found
through :mod:`importlib.resources`. A checkout, or an editable install (``pip install -e .``),
has no ``monitor/_resources/`` and reads the top-level folder itself, so an edit there shows at
once. This module is the one place that knows either location.

``python -m monitor.resources [NAME]`` prints the folder, or the path of ``NAME`` in it.
"""

from __future__ import annotations

import sys
from importlib import resources as _importlib_resources
from pathlib import Path
from typing import Optional

__all__ = ["resource_dir", "resource_path", "PACKAGED_DIR"]

PACKAGED_DIR = "_resources"  # the folder's name inside the installed ``monitor`` package


def _checkout_dir() -> Path:
    """The top-level ``resources/`` beside the ``monitor/`` folder of a checkout."""
    return Path(__file__).resolve().parent.parent / "resources"


def resource_dir() -> Path:
    """The folder holding the data files: packaged in an installed wheel, else the checkout's.

    Returns
    -------
    pathlib.Path
        An existing folder on the file system, or, when neither exists (a broken install), the
        checkout location, so that every file in it reads as missing.
    """
    packaged = _importlib_resources.files("monitor") / PACKAGED_DIR
    # pip and pipx install on the file system, where files() gives a Path; a zipped install
    # (zipimport) would give another kind of Traversable and is not supported.
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return _checkout_dir()


def resource_path(name: str) -> Path:
    """Path of the data file ``name`` (for example ``"demo.wav"``); it may not exist.

    Parameters
    ----------
    name : str
        File name inside ``resources/``.

    Returns
    -------
    pathlib.Path
    """
    return resource_dir() / name


def main(argv: Optional[list] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m monitor.resources [NAME]", file=sys.stderr)
        return 2
    path = resource_path(args[0]) if args else resource_dir()
    if not path.exists():
        print(f"spectromon: error: no resource {path}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
