"""Sound-event classifier (placeholder until the classifier lands)."""

from __future__ import annotations

from typing import Optional

from monitor.settings import Settings


def open_classifier(settings: Settings) -> tuple[Optional[object], Optional[str]]:
    """Return ``(classifier, None)`` or ``(None, reason it is unavailable)``."""
    return None, "classifier unavailable"
