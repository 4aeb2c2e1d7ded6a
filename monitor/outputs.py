"""Every output file, written one way: exclusively, never through a link, never half.

The monitor runs unattended and writes where a user points it, often a shared folder, so an
output file obeys four rules:

* **Exclusive.** An existing name is never overwritten, whatever it is (a file, a symbolic
  link - dangling or not -, a FIFO, a device, a folder).
* **No links followed.** The last path component is created by this process; a link planted
  there is refused, and a dangling link never creates its target elsewhere.
* **Exact name.** The file written is the path given, byte for byte (no suffix added).
* **Whole or nothing.** A file written at the end (:func:`write_atomically`,
  :func:`atomic_output`) goes to an unnamed temporary file in the same folder (``O_TMPFILE``;
  a hidden ``.NAME.XXXXXXXX.part`` where the file system lacks it), is ``fsync`` ed, and is then
  hard-linked into place: ``link(2)`` fails if the name exists, so the final step is exclusive
  too. A disk that fills up leaves nothing, and a retry can use the same name. A file written
  as it goes (:mod:`monitor.output_streams`) is created with
  ``O_CREAT | O_EXCL`` and made durable batch by batch; a failed batch is cut off again, so
  the file always ends after a whole batch (a file that never got a whole batch is removed).

Errors are :class:`~monitor.errors.ParameterError` with one line that names the option, the
file and, for a full disk, the folder and the mount point it is on.

:func:`check_output_path` is the pre-flight check, run before monitoring starts, so that a bad
name is refused at once and not after an hour.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from typing import Callable, Iterator, Optional, Sequence

from monitor.errors import ParameterError

__all__ = ["check_output_path", "write_atomically", "atomic_output", "write_bytes",
           "open_exclusive", "os_error_message", "csv_text_cell", "show_path",
           "check_output_options", "SCREENSHOT_EXTENSIONS", "ensure_standard_fds",
           "remove_if_ours", "write_all"]

SCREENSHOT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")

# Leading characters a spreadsheet reads as a formula (OWASP "CSV injection"), plus the tab and
# carriage return that some importers strip before looking.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def ensure_standard_fds() -> None:
    """Open ``/dev/null`` on any of file descriptors 0, 1, 2 that is closed.

    Call once at start-up. A program started with stdout or stderr closed (by a daemon
    manager, ``>&-``) would otherwise give those numbers to the next files it opens - an output
    file among them - and every ``print`` would then write into that file.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            new = os.open(os.devnull, os.O_RDWR)
            if new != fd:
                os.dup2(new, fd)
                os.close(new)


def show_path(path: str) -> str:
    """``path`` fit for a one-line message: control characters (a newline in a file name)
    are shown escaped, as Python would, so the message stays on one line."""
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return repr(path)
    return path


def _prefix(option: Optional[str]) -> str:
    return f"{option}: " if option else ""


def _ends(extensions: Sequence[str]) -> str:
    ext = list(extensions)
    return ext[0] if len(ext) == 1 else ", ".join(ext[:-1]) + " or " + ext[-1]


def _kind(mode: int) -> Optional[str]:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def mount_point(folder: str) -> str:
    """The mount point of the file system holding ``folder`` (walks up while the device is the same)."""
    path = os.path.abspath(folder)
    try:
        dev = os.stat(path).st_dev
    except OSError:
        return path
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return path
        try:
            if os.stat(parent).st_dev != dev:
                return path
        except OSError:
            return path
        path = parent


def _disk(folder: str) -> str:
    mount = mount_point(folder)
    where = f"the disk holding {show_path(folder)}"
    if mount != os.path.abspath(folder):
        where += f" (mounted at {show_path(mount)})"
    try:
        st = os.statvfs(folder)
        where += f", {st.f_bavail * st.f_frsize / 1e6:.1f} MB free"
    except OSError:
        pass
    return where


def os_error_message(exc: OSError, path: str, option: Optional[str] = None) -> str:
    """One line saying why writing ``path`` failed, naming the disk for space problems."""
    folder = os.path.dirname(os.path.abspath(path))
    head = f"{_prefix(option)}cannot write {show_path(path)}: "
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left" if code == errno.ENOSPC else "disk quota exceeded"
        return head + f"{what} on {_disk(folder)}"
    if code == errno.EFBIG:
        return head + "the file grew beyond the largest size allowed here (file too large)"
    if code == errno.EIO:
        return head + f"input/output error on {_disk(folder)}"
    if code == errno.EROFS:
        return head + f"{show_path(folder)} is on a read-only disk"
    if code == errno.EEXIST:
        return head + "it exists now (created meanwhile by someone else); nothing was overwritten"
    return head + (exc.strerror or str(exc)).rstrip(".").lower()


def check_output_path(path: str, option: Optional[str] = None,
                      extensions: Optional[Sequence[str]] = None) -> str:
    """Refuse, in one line, an output name that cannot be written safely; return ``path``.

    Run this before monitoring starts. It refuses: an empty name or one holding a control
    character; a wrong extension (when ``extensions`` is given, e.g. ``(".npz",)``); a name
    that exists as anything at all (file, symbolic link - dangling too -, FIFO, device,
    folder); a missing or non-folder parent; a name longer than the file system allows; and a
    folder where a file cannot be created (permissions, read-only, full disk). Nothing is
    opened at ``path`` itself, so a FIFO never blocks.

    Parameters
    ----------
    path : str
    option : str, optional
        The option that named it (``"--events-csv"``), for the message.
    extensions : sequence of str, optional
        Accepted endings, lower case with the dot.

    Raises
    ------
    ParameterError
    """
    pre = _prefix(option)
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise ParameterError(f"{pre}needs a file name")
    shown = show_path(path)
    if shown != path:
        raise ParameterError(f"{pre}the file name {shown} holds a control character (a newline "
                             f"or tab?); choose another name")
    if path.endswith(os.sep) or os.path.basename(path) in ("", ".", ".."):
        raise ParameterError(f"{pre}{shown} names a folder; give a file name")
    if extensions:
        ext = os.path.splitext(path)[1].lower()
        if ext not in tuple(e.lower() for e in extensions):
            raise ParameterError(f"{pre}{shown} must end in {_ends(extensions)}")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise ParameterError(f"{pre}cannot write {shown}: a part of its folder is a file, "
                             f"not a folder") from None
    except OSError as exc:
        raise ParameterError(os_error_message(exc, path, option)) from None
    if st is not None:
        raise ParameterError(f"{pre}{_exists_reason(path, st)}")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fst = os.stat(folder)
    except OSError:
        raise ParameterError(f"{pre}cannot write {shown}: the folder {show_path(folder)} "
                             f"does not exist") from None
    if not stat.S_ISDIR(fst.st_mode):
        raise ParameterError(f"{pre}cannot write {shown}: {show_path(folder)} is not a folder")
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if len(os.fsencode(os.path.basename(path))) > name_max:
        raise ParameterError(f"{pre}cannot write {shown}: the file name is longer than the "
                             f"{name_max} bytes this disk allows")
    _probe_folder(folder, path, option)
    return path


def check_output_options(paths: dict, extensions: Optional[dict] = None) -> None:
    """Pre-flight check of every output option given, before a run starts.

    Parameters
    ----------
    paths : dict
        ``{"--events-csv": path, "--save-features": path, "--screenshot": path,
        "--record": path}``; None values are skipped (an empty string is refused).
    extensions : dict, optional
        Option → accepted endings, laid over the default ``{"--screenshot":
        SCREENSHOT_EXTENSIONS}`` (e.g. the recorder's formats for ``"--record"``).

    Raises
    ------
    ParameterError
        The first bad name (see :func:`check_output_path`), or two options naming the same file.
    """
    endings = {"--screenshot": SCREENSHOT_EXTENSIONS, **(extensions or {})}
    seen: dict = {}
    for option, path in paths.items():
        if path is None:
            continue
        check_output_path(path, option, endings.get(option))
        key = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))),
                           os.path.basename(path))
        if key in seen:
            raise ParameterError(f"{seen[key]} and {option} name the same file {show_path(path)}")
        seen[key] = option


def _exists_reason(path: str, st: os.stat_result) -> str:
    shown = show_path(path)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        if os.path.exists(path):
            return (f"{shown} is a symbolic link (to {show_path(target)}); will not write "
                    f"through it")
        return (f"{shown} is a symbolic link to {show_path(target)}, which does not exist; will "
                f"not create it")
    kind = _kind(st.st_mode)
    if kind is not None:
        return f"cannot write {shown}: it is {kind}; outputs go to new regular files"
    return f"will not overwrite {shown}: it exists (choose another name)"


def _probe_folder(folder: str, path: str, option: Optional[str]) -> None:
    """Create and delete an unnamed file in ``folder``: the honest test of writability
    (``os.access`` says yes to root on a read-only disk)."""
    try:
        tmp = _TempFile(folder)
    except OSError as exc:
        raise ParameterError(os_error_message(exc, path, option)) from None
    tmp.discard()
    try:
        st = os.statvfs(folder)
    except OSError:
        return
    if st.f_bavail == 0 and st.f_blocks > 0:
        raise ParameterError(os_error_message(OSError(errno.ENOSPC, "full"), path, option))


class _TempFile:
    """A new file in ``folder`` for writing: unnamed (``O_TMPFILE``) where the file system
    allows, else a hidden random name, created exclusively."""

    def __init__(self, folder: str, force_named: bool = False) -> None:
        self.folder = folder
        self.name: Optional[str] = None
        flags = os.O_RDWR | os.O_CLOEXEC  # readable too: the copy fallback reads it back
        tmpfile = getattr(os, "O_TMPFILE", 0)
        if tmpfile and not force_named:
            try:
                self.fd = os.open(folder, flags | tmpfile, 0o666)
                return
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                    raise
        for _ in range(100):
            name = os.path.join(folder, f".spectromon.{os.urandom(4).hex()}.part")
            try:
                self.fd = os.open(name, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
            except FileExistsError:
                continue
            self.name = name
            return
        raise OSError(errno.EEXIST, "no free temporary name")

    def publish(self, path: str) -> None:
        """Give the (fsync'ed) file the name ``path``; fails if ``path`` exists."""
        folder = os.path.dirname(os.path.abspath(path))
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if self.name is not None:
                os.link(self.name, os.path.basename(path), dst_dir_fd=dir_fd,
                        follow_symlinks=False)
            else:
                # linkat(2) with AT_SYMLINK_FOLLOW resolves /proc/self/fd/N to the unnamed
                # file (CPython calls plain link(2), which does not, unless a dir fd is given).
                os.link(f"/proc/self/fd/{self.fd}", os.path.basename(path), src_dir_fd=dir_fd,
                        dst_dir_fd=dir_fd, follow_symlinks=True)
            # link(2) never follows a link at the new name and fails with EEXIST if anything
            # is there: the exclusive step.
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK,
                                 errno.EXDEV, errno.ENOENT):
                raise
            self._copy_to(path)  # a file system without hard links (FAT, some network disks)
        finally:
            os.close(dir_fd)
        _fsync_folder(folder)

    def _copy_to(self, path: str) -> None:
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      0o666)
        try:
            offset = 0
            while True:
                chunk = os.pread(self.fd, 1 << 20, offset)
                if not chunk:
                    break
                write_all(out, chunk)
                offset += len(chunk)
            os.fsync(out)
        except BaseException:
            os.close(out)
            os.unlink(path)  # created by us just now (O_EXCL): never a file of someone else
            raise
        os.close(out)

    def discard(self) -> None:
        """Close; remove the temporary name if there is one."""
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1
        if self.name is not None:
            try:
                os.unlink(self.name)
            except OSError:
                pass
            self.name = None


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the file itself is synced
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: str, option: Optional[str] = None,
                  extensions: Optional[Sequence[str]] = None, text: bool = False,
                  _force_named: bool = False) -> Iterator[io.IOBase]:
    """Context manager: a file object whose content appears at ``path`` only when the block
    ends without an exception, whole and synced; otherwise nothing appears at ``path``.

    Parameters
    ----------
    path, option, extensions
        As for :func:`check_output_path` (checked again here).
    text : bool
        A text file (UTF-8, ``newline=""`` as the csv module wants) instead of binary.

    Raises
    ------
    ParameterError
        Bad name, or the write failed (disk full, file too large, I/O error); nothing was left.
    """
    check_output_path(path, option, extensions)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        tmp = _TempFile(folder, force_named=_force_named)
    except OSError as exc:
        raise ParameterError(os_error_message(exc, path, option)) from None
    try:
        raw = os.fdopen(os.dup(tmp.fd), "wb", closefd=True)
        f = io.TextIOWrapper(raw, encoding="utf-8", newline="") if text else raw
        try:
            yield f
            f.flush()
            os.fsync(tmp.fd)
        finally:
            try:
                f.close()
            except OSError:
                pass  # the write error itself is what is reported
        tmp.publish(path)
    except OSError as exc:
        raise ParameterError(os_error_message(exc, path, option)) from None
    finally:
        tmp.discard()


def write_atomically(path: str, writer: Callable[[io.IOBase], object], option: Optional[str] = None,
                     extensions: Optional[Sequence[str]] = None, text: bool = False) -> None:
    """Write ``path`` whole or not at all: ``writer(f)`` fills a temporary file object.

    Examples
    --------
    >>> write_atomically("features.npz", lambda f: np.savez(f, x=x), "--save-features",
    ...                  (".npz",))  # doctest: +SKIP
    """
    with atomic_output(path, option, extensions, text) as f:
        writer(f)


def write_bytes(path: str, data: bytes, option: Optional[str] = None,
                extensions: Optional[Sequence[str]] = None) -> None:
    """Write ``data`` to ``path`` whole or not at all (see :func:`write_atomically`)."""
    write_atomically(path, lambda f: f.write(data), option, extensions)


def open_exclusive(path: str, option: Optional[str] = None,
                   extensions: Optional[Sequence[str]] = None) -> int:
    """Create ``path`` (checked first) with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and return the
    file descriptor, for a writer that needs a descriptor (libsndfile's ``sf_open_fd``)."""
    check_output_path(path, option, extensions)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                       0o666)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ELOOP):
            try:
                raise ParameterError(f"{_prefix(option)}{_exists_reason(path, os.lstat(path))}") \
                    from None
            except FileNotFoundError:
                pass
        raise ParameterError(os_error_message(exc, path, option)) from None


def remove_if_ours(path: str, fd: int) -> None:
    """Delete ``path`` if it is still the file open as ``fd`` (never someone else's file)."""
    try:
        mine, there = os.fstat(fd), os.lstat(path)
    except OSError:
        return
    if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino):
        try:
            os.unlink(path)
        except OSError:
            pass


def csv_text_cell(value: object) -> object:
    """A CSV cell safe to open in a spreadsheet: text starting with ``= + - @``, tab or CR gets
    a leading apostrophe (shown by spreadsheets, never run as a formula). Numbers are kept."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
