"""Imports run one way: entry points → session → parts → settings → errors.

Read from the source with ``ast`` (every import, also those inside functions), so a late import
cannot hide a dependency that runs the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"

# Each module's layer; a module may import only from layers below its own, or from its own
# package (a part's submodules use each other).
LAYERS = {
    "errors": 0,
    "settings": 1, "resources": 1, "colour_tables": 1, "outputs": 1, "output_streams": 1.5,
    "dsp": 2, "ringbuffer": 2, "calibration": 2, "inputs": 2,
    "sources": 3, "audio_file": 2, "recorder": 3, "worker": 3, "classifier": 3, "pipeline": 4,
    "measurement": 3, "settings_store": 3, "problems": 1, "rules": 3, "clips": 4, "network": 4,
    "threads": 0, "npz_writer": 0, "detector_events": 0, "channel_monitor": 2.5, "measurement_feed": 3.5, "export": 2,
    "headless_exports": 3, "session_store": 3, "snapshots": 3, "run_outputs": 4,
    "session": 5,
    "headless": 6, "gui": 6, "subscribe": 7, "cli": 8,
}
ENTRY = {"cli", "headless", "gui", "subscribe", "__main__"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        yield name, path


def _imports(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                out.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                out.add(node.module)
    return {m for m in out if m == "monitor" or m.startswith("monitor.")}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_has_a_layer():
    missing = {_part(name) for name, _ in _modules() if _part(name)} - LAYERS.keys()
    missing -= ENTRY  # entry points may be added freely above the session
    assert not missing, f"give these a layer in tests/test_layers.py: {sorted(missing)}"


@pytest.mark.parametrize("name,path", list(_modules()), ids=lambda x: str(x))
def test_imports_run_one_way(name, path):
    own = _part(name)
    if not own:
        return  # monitor/__init__.py: the version only
    layer = LAYERS.get(own, 99 if own in ENTRY else None)
    for target in _imports(path, name):
        other = _part(target)
        if other in ("", own):
            continue
        assert LAYERS.get(other, 99) < layer, f"{name} imports {target}: that runs the wrong way"


def test_dsp_needs_nothing_of_the_app():
    for name, path in _modules():
        if _part(name) == "dsp":
            foreign = {t for t in _imports(path, name) if _part(t) != "dsp"}
            assert not foreign, f"{name} imports {foreign}"
