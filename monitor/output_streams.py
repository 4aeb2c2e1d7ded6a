"""Files written as they go: created exclusively, made durable batch by batch, never ending
inside a batch (the rules of :mod:`monitor.outputs`, for a file that grows while the monitor runs).

:class:`StreamingOutput` holds the bytes; :class:`CsvStream` writes rows into one, with text
cells made spreadsheet-safe (:func:`monitor.outputs.csv_text_cell`). The classifier's events
CSV (:class:`monitor.classifier.aggregation.EventsCsv`) is one.
"""

from __future__ import annotations

import csv
import os
from typing import Optional, Sequence

from monitor.errors import ParameterError
from monitor.outputs import csv_text_cell, open_exclusive, os_error_message, remove_if_ours, write_all

__all__ = ["StreamingOutput", "CsvStream"]


class StreamingOutput:
    """A file written as it goes, created exclusively, made durable batch by batch.

    :meth:`write` buffers; :meth:`sync` writes the buffered batch and ``fsync`` s it. If the
    batch fails (disk full, file too large, I/O error) the file is cut back to the end of the
    last whole batch, so it never ends inside one, and :class:`ParameterError` is raised (one
    line, naming the disk); later writes are refused with the same message. A file that never
    got a whole batch past its ``header`` is removed on failure and on :meth:`discard`.

    Parameters
    ----------
    path, option, extensions
        As for :func:`monitor.outputs.check_output_path`.
    header : bytes
        Written and synced at once (e.g. a CSV header row).
    """

    def __init__(self, path: str, option: Optional[str] = None,
                 extensions: Optional[Sequence[str]] = None, header: bytes = b"") -> None:
        self.path = path
        self.option = option
        self.error: Optional[str] = None
        self.synced = 0  # bytes durable on disk
        self._header = len(header)
        self._pending: list[bytes] = []
        self.fd = open_exclusive(path, option, extensions)
        if header:
            self._pending.append(header)
            self.sync()

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the next :meth:`sync`."""
        if self.error:
            raise ParameterError(self.error)
        self._pending.append(bytes(data))

    def sync(self) -> None:
        """Write the queued batch and push it to the disk."""
        if self.error:
            raise ParameterError(self.error)
        if not self._pending:
            return
        batch = b"".join(self._pending)
        self._pending.clear()
        try:
            os.lseek(self.fd, self.synced, os.SEEK_SET)
            write_all(self.fd, batch)
            os.fsync(self.fd)
        except OSError as exc:
            self._fail(exc)
        self.synced += len(batch)

    def _fail(self, exc: OSError) -> None:
        self.error = os_error_message(exc, self.path, self.option)
        try:
            os.ftruncate(self.fd, self.synced)  # cut off the partial batch
            os.fsync(self.fd)
        except OSError:
            pass
        if self.synced <= self._header:
            self.discard()
        raise ParameterError(self.error) from None

    def close(self) -> None:
        """Sync what is queued and close. Raises :class:`ParameterError` if that fails."""
        if self.fd < 0:
            return
        try:
            if not self.error:
                self.sync()
        finally:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1

    def discard(self) -> None:
        """Close and delete the file (if it is still ours)."""
        if self.fd >= 0:
            remove_if_ours(self.path, self.fd)
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "StreamingOutput":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Line:
    """File-like sink for :func:`csv.writer` that keeps the last formatted row."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> None:
        self.text += s


class CsvStream:
    """A CSV file written row by row (see :class:`StreamingOutput`); text cells are made
    spreadsheet-safe with :func:`csv_text_cell`; synced every ``batch_rows`` rows and on
    :meth:`sync` / :meth:`close`.

    Parameters
    ----------
    path : str
    header : sequence of str
    option : str, optional
    batch_rows : int
        Rows per fsync (1: every row durable at once).
    extensions : sequence of str, optional
        Accepted endings (none: any name, written exactly as given).
    """

    def __init__(self, path: str, header: Sequence[str], option: Optional[str] = None,
                 batch_rows: int = 64, extensions: Optional[Sequence[str]] = None) -> None:
        self.batch_rows = max(1, int(batch_rows))
        self.rows = 0
        self._unsynced = 0
        self._out = StreamingOutput(path, option, extensions, header=self._format(header))

    @staticmethod
    def _format(row: Sequence) -> bytes:
        line = _Line()
        csv.writer(line).writerow([csv_text_cell(c) for c in row])
        return line.text.encode("utf-8")

    @property
    def path(self) -> str:
        return self._out.path

    @property
    def closed(self) -> bool:
        return self._out.fd < 0

    def write_row(self, row: Sequence) -> None:
        self._out.write(self._format(row))
        self.rows += 1
        self._unsynced += 1
        if self._unsynced >= self.batch_rows:
            self.sync()

    def sync(self) -> None:
        self._unsynced = 0
        self._out.sync()

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> "CsvStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
