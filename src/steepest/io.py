"""Checkpoints that cannot hurt the user: :func:`~steepest.io.save` and :func:`~steepest.io.load`.

A checkpoint is an ``.npz`` archive (a zip of ``.npy`` files) holding every array of the saved
object plus ``metadata.json``, which describes the object's structure (dicts with their key
order and key types, lists, tuples, numbers, strings, booleans, ``None``) and, for each array,
its dtype, shape and SHA-256 digest.

* **No code runs on load.** Nothing is pickled or unpickled: arrays are read with
  ``allow_pickle=False`` and everything else is JSON. An archive holding Python objects is
  refused.
* **Exact round trip.** Arrays keep dtype, byte order and shape; ints stay ints and floats stay
  floats (stored as hexadecimal, so every bit survives, NaN and -0.0 included); tuples stay
  tuples; dict keys keep their order and their type (``int`` keys as in an optimizer's
  ``state[0]``). ``opt.load_state_dict(st.load(path))`` continues a run bit for bit.
* **Atomic.** :func:`save` writes a temporary file in the target's directory, flushes it to
  disk (``fsync``) and renames it over the target, so a process killed during a save leaves
  the previous checkpoint intact.
* **Checked.** :func:`load` verifies the archive (zip CRCs, the expected members and nothing
  else, each array's dtype, shape and digest, the structure's schema) before returning
  anything; a truncated, tampered or foreign file raises :class:`CheckpointError`.

The archive is also a plain ``.npz``: ``numpy.load(path)["a0"]`` reads the first array.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
import socket
import stat
import time
import tokenize
import zipfile
import zlib
from collections import OrderedDict
from typing import Any

import numpy as np

from .autodiff.tensor import Tensor

__all__ = ["save", "load", "CheckpointError", "FORMAT", "FORMAT_VERSION",
           "remove_stale_temporaries"]

FORMAT = "steepest-checkpoint"
FORMAT_VERSION = 1
METADATA = "metadata.json"
# Array kinds a checkpoint may hold: booleans, integers, floats, complex numbers.
_ARRAY_KINDS = "biufc"
# Room for an .npy header (magic, length, dict padded to 64 bytes) beyond the array bytes.
_HEADER_ALLOWANCE = 1 << 16
_ZIP64_THRESHOLD = 1 << 30
# What NumPy's .npy header parsing can raise on damaged bytes: ast.literal_eval raises
# SyntaxError (or MemoryError/RecursionError on deep nesting), its fallback for Python 2 headers
# tokenizes the text (tokenize.TokenError, IndentationError), the rest raise ValueError,
# TypeError (a descr that is no dtype) or OverflowError (a shape beyond the index range).
NPY_HEADER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, SyntaxError, tokenize.TokenError, TypeError, OverflowError, MemoryError,
    RecursionError, KeyError, IndexError)


class CheckpointError(ValueError):
    """A file that :func:`load` refuses: truncated, tampered with, or not a steepest checkpoint."""


# --------------------------------------------------------------------------- encoding

class _Encoder:
    """Turns an object into a JSON tree and the list of arrays it refers to, or refuses it."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._open: set[int] = set()  # containers on the current path: catches cycles

    def encode(self, value: Any, path: str) -> dict[str, Any]:
        kind = type(value)
        if value is None:
            return {"type": "none"}
        if kind is bool:
            return {"type": "bool", "value": value}
        if kind is int:
            return {"type": "int", "value": value}
        if kind is float:
            return {"type": "float", "value": value.hex()}
        if kind is complex:
            return {"type": "complex", "real": value.real.hex(), "imag": value.imag.hex()}
        if kind is str:
            return {"type": "str", "value": value}
        if kind is np.ndarray or isinstance(value, np.generic):
            return self._array(value, path)
        if isinstance(value, Tensor):
            return self._array(value.data, path)
        if isinstance(value, dict | list | tuple):
            return self._container(value, path)
        raise TypeError(
            f"save: cannot save {path}: {kind.__module__}.{kind.__qualname__} is not supported "
            f"(a checkpoint holds dicts, lists, tuples, NumPy arrays and scalars, int, float, "
            f"complex, str, bool and None)"
        )

    def _container(self, value: dict | list | tuple, path: str) -> dict[str, Any]:
        if id(value) in self._open:
            raise ValueError(f"save: {path} contains itself; a checkpoint cannot hold a cycle")
        self._open.add(id(value))
        try:
            if isinstance(value, dict):
                items = [[self._key(key, path), self.encode(item, f"{path}[{key!r}]")]
                         for key, item in value.items()]
                return {"type": "odict" if type(value) is OrderedDict else "dict", "items": items}
            return {"type": "tuple" if isinstance(value, tuple) else "list",
                    "items": [self.encode(item, f"{path}[{i}]") for i, item in enumerate(value)]}
        finally:
            self._open.discard(id(value))

    @staticmethod
    def _key(key: Any, path: str) -> dict[str, Any]:
        if type(key) is str:
            return {"type": "str", "value": key}
        if type(key) is int:
            return {"type": "int", "value": key}
        raise TypeError(f"save: cannot save the key {key!r} of {path}: dict keys must be str or "
                        f"int, got {type(key).__name__}")

    def _array(self, value: np.ndarray | np.generic, path: str) -> dict[str, Any]:
        array = np.asarray(value)
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"save: cannot save {path}: NumPy values of dtype {array.dtype} are not "
                            f"supported (only booleans, integers, floats and complex numbers)")
        name = f"a{len(self.arrays)}"
        self.arrays.append(array)
        return {"type": "scalar" if isinstance(value, np.generic) else "array", "array": name}


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data).hexdigest()


def _array_entry(array: np.ndarray) -> dict[str, Any]:
    return {"dtype": array.dtype.str, "shape": list(array.shape), "sha256": _digest(array)}


def _metadata(tree: dict[str, Any], arrays: list[np.ndarray]) -> bytes:
    from . import __version__
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "writer": f"steepest {__version__}",
        "arrays": {f"a{i}": _array_entry(array) for i, array in enumerate(arrays)},
        "tree": tree,
    }
    return json.dumps(document, ensure_ascii=True, allow_nan=False).encode("ascii")


# --------------------------------------------------------------------------- writing

def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` to ``path`` as a checkpoint, atomically.

    Parameters
    ----------
    obj : object
        A model's or optimizer's ``state_dict()``, or any nesting of dicts (``str`` or ``int``
        keys), lists and tuples holding NumPy arrays and scalars, ``int``, ``float``,
        ``complex``, ``str``, ``bool`` and ``None``. Everything round-trips exactly with these
        exceptions: a top-level object with a ``state_dict()`` method (a
        :class:`~steepest.nn.Module`, an optimizer) is saved as its ``state_dict()``; a
        :class:`~steepest.Tensor` is saved as its array; dict subclasses other than
        ``OrderedDict`` come back as ``dict``, list and tuple subclasses (named tuples) as
        ``list`` and ``tuple``.
    path : str or path-like
        The file to write (used as given: no suffix is added). The directory must exist. An
        existing file is replaced only once the new one is complete and on disk, keeping its
        permissions.

    Raises
    ------
    TypeError
        For an unsupported value, naming where it sits (e.g. ``obj['state'][0]['fn']``); nothing
        is written then.
    OSError
        When the disk is full or the directory is read-only: the message names ``path`` (not
        the temporary file), and the previous file at ``path`` is unchanged. A
        ``FileExistsError`` when ``path`` is a named pipe, a socket or a device (such as
        ``/dev/null``), which is never replaced.

    Notes
    -----
    The temporary files of saves that were killed (SIGKILL, power loss) before their rename are
    removed by the next save to the same path: see :func:`~steepest.io.remove_stale_temporaries`.

    Examples
    --------
    >>> import numpy as np, os, tempfile, steepest as st
    >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
    >>> st.save({"step": 3, "w": np.arange(3.0), "betas": (0.9, 0.999)}, path)
    >>> st.load(path)
    {'step': 3, 'w': array([0., 1., 2.]), 'betas': (0.9, 0.999)}
    """
    if not isinstance(obj, dict | list | tuple) and callable(getattr(obj, "state_dict", None)):
        obj = obj.state_dict()
    encoder = _Encoder()
    tree = encoder.encode(obj, "obj")  # refuse bad input before touching the disk
    metadata = _metadata(tree, encoder.arrays)
    target = os.path.realpath(_fspath("save", path))
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise IsADirectoryError(f"save: path {os.fspath(path)!r} is a directory; give the path of "
                                f"the file to write, e.g. {os.path.join(os.fspath(path), 'state.npz')!r}")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the directory {directory!r} does not exist")
    _refuse_special_file(_fspath("save", path), target)
    remove_stale_temporaries(target)
    try:
        _write_atomically(target, metadata, encoder.arrays)
    except OSError as error:
        raise _naming(error, target) from None
    _fsync_directory(directory)


def _refuse_special_file(given: str, target: str) -> None:
    """Refuse to replace what is not a regular file: the rename would put the checkpoint in
    place of a named pipe, a socket or a device, and ``--checkpoint /dev/null`` run as root
    (in a container) would replace /dev/null itself."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return  # nothing there (or unreadable): the write itself says what is wrong
    if not stat.S_ISREG(mode):
        shown = given if os.path.abspath(given) == target else f"{given} -> {target}"
        raise FileExistsError(f"save: {shown!r} is {_file_kind(mode)}, not a regular file; a "
                              f"checkpoint is never written in its place: give the path of a "
                              f"file")


def _naming(error: OSError, target: str) -> OSError:
    """The same kind of OSError (disk full, read-only, permission), naming the checkpoint, not
    the temporary file that was being written when it happened."""
    reason = error.strerror or str(error)
    return OSError(error.errno, f"save: could not write the checkpoint {target!r} ({reason}); "
                                f"the previous file, if any, is unchanged", target)


def _write_atomically(target: str, metadata: bytes, arrays: list[np.ndarray]) -> None:
    temporary = _temporary_name(target)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            _write_archive(file, metadata, arrays)
            file.flush()
            os.fsync(file.fileno())
        if os.path.exists(target):
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# --------------------------------------------------------------------------- temporary files
#: Suffix of the temporary files :func:`save` writes before renaming them over the target.
TEMP_SUFFIX = ".steepest-tmp"
#: A temporary file this old is stale whoever wrote it (no save takes a day).
STALE_AFTER_S = 24 * 3600.0
#: Temporaries of steepest before this naming scheme (no pid): stale after an hour.
LEGACY_STALE_AFTER_S = 3600.0


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


#: The longest name (in bytes) of the target that its temporaries repeat in full: the rest of
#: a temporary's name takes at most 64 bytes, and most file systems allow names of 255.
_STEM_MAX = 255 - 64


def _stem(name: str) -> str:
    """The part of a temporary's name that stands for its target: the target's name, or for a
    name too long to repeat (a legal name of 200+ bytes would make the temporary's too long,
    and save fail with 'File name too long') its first bytes and a digest of the whole."""
    encoded = os.fsencode(name)
    if len(encoded) <= _STEM_MAX:
        return name
    head = encoded[:100].decode("utf-8", "ignore")  # whole characters only
    return f"{head}~{hashlib.sha256(encoded).hexdigest()[:16]}"


def _temporary_name(target: str) -> str:
    """``.<name>.<host>-<pid>-<random>.steepest-tmp`` next to the target: hidden, recognisably
    steepest's, and telling which process on which machine writes it."""
    directory, name = os.path.split(target)
    return os.path.join(directory, f".{_stem(name)}.{_host_tag()}-{os.getpid()}-"
                                   f"{secrets.token_hex(8)}{TEMP_SUFFIX}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep its file
    return True


def _is_stale(directory: str, entry: str, name: str) -> bool:
    prefix = f".{_stem(name)}."
    legacy_prefix = f".{name}."
    if not entry.startswith((prefix, legacy_prefix)):
        return False
    middle = entry[len(prefix if entry.startswith(prefix) else legacy_prefix):]
    try:
        age = time.time() - os.stat(os.path.join(directory, entry), follow_symlinks=False).st_mtime
    except OSError:
        return False
    if middle.endswith(TEMP_SUFFIX):
        parts = middle[:-len(TEMP_SUFFIX)].split("-")
        if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 16:
            return False
        host, pid = parts[0], int(parts[1])
        if host == _host_tag() and pid != os.getpid() and not _alive(pid):
            return True
        return age > STALE_AFTER_S
    legacy = middle.endswith(".tmp") and len(middle) == 16 + 4 and _is_hex(middle[:16])
    return legacy and age > LEGACY_STALE_AFTER_S


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[str]:
    """Delete the temporary files that killed saves to ``target`` left behind.

    :func:`save` calls this first. A temporary file belongs to a target by its name
    (``.<target name>.<host>-<pid>-<random>.steepest-tmp``). It is stale when the process that
    wrote it, on this machine, no longer exists (a save in progress keeps its process alive;
    a pid that was reused keeps its file, which is harmless), or when it is older than a day
    whichever machine wrote it. Files of other names are never touched.

    Returns
    -------
    list of str
        The paths removed.
    """
    target = os.path.realpath(os.fspath(target))
    directory, name = os.path.split(target)
    removed = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        if _is_stale(directory, entry, name):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))
                removed.append(os.path.join(directory, entry))
    return removed


def _fspath(owner: str, path: Any) -> str:
    """``path`` as a string, or a TypeError that names the parameter."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{owner}: path must be a str or os.PathLike, got {path!r} "
                        f"({type(path).__name__})") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{owner}: path must not be empty")
    return path


def _write_archive(file: Any, metadata: bytes, arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr(METADATA, metadata)
        for i, array in enumerate(arrays):
            with archive.open(f"a{i}.npy", "w", force_zip64=array.nbytes > _ZIP64_THRESHOLD) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# --------------------------------------------------------------------------- reading

def load(path: str | os.PathLike[str]) -> Any:
    """Read a checkpoint written by :func:`save`, verifying it completely first.

    No code is executed: arrays are read with ``allow_pickle=False`` and the structure is JSON.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    object
        The saved object, with arrays as fresh writable NumPy arrays.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        (a ``ValueError``) If the file is truncated, tampered with, holds Python objects, was
        written by a newer format version, or is not a steepest checkpoint; also for a path
        that is not a regular file (a named pipe, a device), which is never read from.
    """
    path = _fspath("load", path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: path {path!r} is a directory, not a checkpoint file")
    with _open_regular(path) as file:
        try:
            return _read_archive(file)
        except CheckpointError as error:
            raise CheckpointError(f"load: {path!r} is not a valid steepest checkpoint: {error}. "
                                  f"Nothing was loaded") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                OverflowError, MemoryError, SyntaxError, tokenize.TokenError) as error:
            raise CheckpointError(f"load: {path!r} is not a valid steepest checkpoint: the archive "
                                  f"is damaged or truncated ({type(error).__name__}: {error}). "
                                  f"Nothing was loaded") from None
        except RecursionError:
            raise CheckpointError(f"load: {path!r} is not a valid steepest checkpoint: its "
                                  f"structure is nested too deeply. Nothing was loaded") from None


def _open_regular(path: str) -> Any:
    """Open ``path`` for reading if it is a regular file. A named pipe (FIFO), a device or a
    socket is refused without reading from it: opening a FIFO would wait for a writer forever.
    The file is opened without blocking and checked with ``fstat``, so nothing can swap it
    between the check and the read."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise CheckpointError(f"load: {path!r} is not a regular file (it is "
                                  f"{_file_kind(mode)}); a checkpoint is a file written by "
                                  f"steepest.save. Nothing was loaded")
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, words in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return words
    return "not a plain file"


def _read_archive(file: Any) -> Any:
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile:
        raise CheckpointError("not a zip/npz archive, or truncated") from None
    with archive:
        infos = archive.infolist()
        _check_members(infos, os.fstat(file.fileno()).st_size if hasattr(file, "fileno") else None)
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise CheckpointError("the archive has duplicate members")
        if METADATA not in names:
            raise CheckpointError(f"no {METADATA} in the archive (a plain .npz, not written by "
                                  f"steepest.save)")
        document = _parse_metadata(archive.read(METADATA))
        entries = document["arrays"]
        expected = {METADATA} | {f"{name}.npy" for name in entries}
        if set(names) != expected:
            extra = sorted(set(names) - expected)
            missing = sorted(expected - set(names))
            raise CheckpointError(f"the archive's members do not match its metadata (unexpected: "
                                  f"{extra}, missing: {missing})")
        sizes = {info.filename: info.file_size for info in infos}
        arrays = {name: _read_array(archive, name, entry, sizes[f"{name}.npy"])
                  for name, entry in entries.items()}
        decoder = _Decoder(arrays)
        obj = decoder.decode(document["tree"], "obj")
        if decoder.used != set(arrays):
            raise CheckpointError(f"arrays {sorted(set(arrays) - decoder.used)} are not part of "
                                  f"the structure")
        return obj


def _check_members(infos: list[zipfile.ZipInfo], file_size: int | None) -> None:
    """Refuse what could inflate beyond the file: :func:`save` stores members uncompressed, so
    any compression method (known or not) means a foreign or tampered archive, and the members
    together can never hold more bytes than the file itself."""
    total = 0
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(f"member {info.filename!r} uses compression method "
                                  f"{info.compress_type}; steepest checkpoints store members "
                                  f"uncompressed")
        if info.file_size != info.compress_size:
            raise CheckpointError(f"member {info.filename!r} declares {info.file_size} bytes but "
                                  f"stores {info.compress_size}")
        total += info.file_size
    if file_size is not None and total > file_size:
        raise CheckpointError(f"its members declare {total} bytes in a file of {file_size} bytes")


def _refuse_constant(name: str) -> None:
    raise CheckpointError(f"metadata holds the non-JSON constant {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise CheckpointError("metadata has a JSON object with duplicate keys")
    return dict(pairs)


def _parse_metadata(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                              object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{METADATA} is not valid JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"{METADATA} does not describe a {FORMAT}")
    version = document.get("version")
    if type(version) is not int:
        raise CheckpointError(f"{METADATA} has no integer format version")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"it was written in format version {version} by a newer steepest; "
                              f"this one reads versions up to {FORMAT_VERSION}")
    if set(document) != {"format", "version", "writer", "arrays", "tree"}:
        raise CheckpointError(f"{METADATA} has unexpected fields {sorted(document)}")
    arrays = document["arrays"]
    if not isinstance(arrays, dict) or any(not _valid_entry(e) for e in arrays.values()):
        raise CheckpointError(f"{METADATA} has a malformed array table")
    if sorted(arrays) != sorted(f"a{i}" for i in range(len(arrays))):
        raise CheckpointError(f"{METADATA} has unexpected array names")
    return document


def _valid_entry(entry: Any) -> bool:
    return (isinstance(entry, dict) and set(entry) == {"dtype", "shape", "sha256"}
            and isinstance(entry["dtype"], str) and isinstance(entry["sha256"], str)
            and isinstance(entry["shape"], list)
            and all(type(n) is int and n >= 0 for n in entry["shape"]))


def _entry_dtype(name: str, entry: dict[str, Any]) -> np.dtype:
    try:
        dtype = np.dtype(entry["dtype"])
    except (TypeError, ValueError):
        raise CheckpointError(f"array {name} has an unknown dtype {entry['dtype']!r}") from None
    if dtype.kind not in _ARRAY_KINDS or dtype.str != entry["dtype"]:
        raise CheckpointError(f"array {name} has dtype {entry['dtype']!r}: Python objects and "
                              f"non-numeric arrays are refused")
    return dtype


def _read_array(archive: zipfile.ZipFile, name: str, entry: dict[str, Any], size: int) -> np.ndarray:
    dtype = _entry_dtype(name, entry)
    shape = tuple(entry["shape"])
    expected_bytes = math.prod(shape) * dtype.itemsize
    if not expected_bytes <= size <= expected_bytes + _HEADER_ALLOWANCE:
        raise CheckpointError(f"array {name} occupies {size} bytes, but its metadata describes "
                              f"{expected_bytes} bytes of data")
    with archive.open(f"{name}.npy") as member:
        array = _read_npy(member, name, dtype, shape, size)
        if member.read(1):
            raise CheckpointError(f"array {name} has trailing bytes")
    if _digest(array) != entry["sha256"]:
        raise CheckpointError(f"array {name} does not match its SHA-256 digest: the file was "
                              f"modified")
    return array if array.flags.writeable else array.copy()


def _read_npy(member: Any, name: str, dtype: np.dtype, shape: tuple[int, ...], size: int
              ) -> np.ndarray:
    """Read one ``.npy`` member, checking its header against the metadata before allocating."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        if version == (1, 0):
            header = fmt.read_array_header_1_0(member)
        elif version in ((2, 0), (3, 0)):
            header = fmt.read_array_header_2_0(member)
        else:
            raise CheckpointError(f"array {name} has an unknown .npy version {version}")
    except CheckpointError:
        raise
    except NPY_HEADER_ERRORS as error:
        raise CheckpointError(f"array {name} has a damaged .npy header "
                              f"({type(error).__name__}: {error})") from None
    stored_shape, fortran, stored_dtype = header
    if stored_dtype.hasobject:
        raise CheckpointError(f"array {name} holds Python objects; they are never unpickled")
    if stored_dtype.str != dtype.str or tuple(stored_shape) != shape:
        raise CheckpointError(f"array {name} is {stored_dtype.str} {tuple(stored_shape)}, but its "
                              f"metadata says {dtype.str} {shape}")
    count = math.prod(shape)
    if size - member.tell() != count * dtype.itemsize:
        raise CheckpointError(f"array {name} stores {size - member.tell()} bytes of data, but its "
                              f"shape needs {count * dtype.itemsize}")
    flat = np.empty(count, dtype=dtype)
    buffer = memoryview(flat.view(np.uint8))
    filled = 0
    while filled < len(buffer):
        got = member.readinto(buffer[filled:])
        if not got:
            raise CheckpointError(f"array {name} is truncated")
        filled += got
    return flat.reshape(shape, order="F" if fortran else "C")


class _Decoder:
    """Rebuilds the object from the JSON tree, checking every node against the schema."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.used: set[str] = set()

    def decode(self, node: Any, path: str) -> Any:
        kind = node.get("type") if isinstance(node, dict) else None
        decode = self._DECODERS.get(kind) if isinstance(kind, str) else None
        if decode is None:
            raise CheckpointError(f"the structure has a malformed node at {path}")
        return decode(self, node, path)

    @staticmethod
    def _fields(node: dict[str, Any], path: str, *names: str) -> list[Any]:
        if set(node) != {"type", *names}:
            raise CheckpointError(f"the structure has a malformed {node['type']} node at {path}")
        return [node[name] for name in names]

    def _none(self, node: dict[str, Any], path: str) -> None:
        self._fields(node, path)

    def _float(self, node: dict[str, Any], path: str) -> float:
        (value,) = self._fields(node, path, "value")
        return _from_hex(value, path)

    def _complex(self, node: dict[str, Any], path: str) -> complex:
        real, imag = self._fields(node, path, "real", "imag")
        return complex(_from_hex(real, path), _from_hex(imag, path))

    def _sequence(self, node: dict[str, Any], path: str) -> list | tuple:
        (items,) = self._fields(node, path, "items")
        if not isinstance(items, list):
            raise CheckpointError(f"the structure has a malformed {node['type']} at {path}")
        values = [self.decode(item, f"{path}[{i}]") for i, item in enumerate(items)]
        return tuple(values) if node["type"] == "tuple" else values

    def _mapping(self, node: dict[str, Any], path: str) -> dict:
        (items,) = self._fields(node, path, "items")
        out: dict = OrderedDict() if node["type"] == "odict" else {}
        if not isinstance(items, list):
            raise CheckpointError(f"the structure has a malformed {node['type']} at {path}")
        for item in items:
            if not (isinstance(item, list) and len(item) == 2):
                raise CheckpointError(f"the structure has a malformed dict item at {path}")
            key = self.decode(item[0], f"{path} (a key)")
            if type(key) not in (str, int) or key in out:
                raise CheckpointError(f"the structure has an invalid or repeated key at {path}")
            out[key] = self.decode(item[1], f"{path}[{key!r}]")
        return out

    def _array(self, node: dict[str, Any], path: str) -> np.ndarray | np.generic:
        (name,) = self._fields(node, path, "array")
        if not isinstance(name, str) or name not in self.arrays or name in self.used:
            raise CheckpointError(f"the structure refers to a missing or reused array at {path}")
        self.used.add(name)
        array = self.arrays[name]
        if node["type"] == "scalar":
            if array.ndim != 0:
                raise CheckpointError(f"the scalar at {path} is stored as an array of shape "
                                      f"{array.shape}")
            return array[()]
        return array

    _DECODERS: dict[str, Any] = {}


def _from_hex(value: Any, path: str) -> float:
    if not isinstance(value, str):
        raise CheckpointError(f"the structure has a malformed float at {path}")
    try:
        return float.fromhex(value)
    except (ValueError, OverflowError):
        raise CheckpointError(f"the structure has a malformed float at {path}") from None


def _plain(python_type: type) -> Any:
    """The decoder of a JSON-native value (bool, int, str), checking its exact type."""
    def decode(decoder: _Decoder, node: dict[str, Any], path: str) -> Any:
        (value,) = decoder._fields(node, path, "value")
        if type(value) is not python_type:
            raise CheckpointError(f"the structure has a malformed {node['type']} at {path}")
        return value
    return decode


_Decoder._DECODERS.update({
    "none": _Decoder._none, "bool": _plain(bool), "int": _plain(int), "str": _plain(str),
    "float": _Decoder._float, "complex": _Decoder._complex,
    "list": _Decoder._sequence, "tuple": _Decoder._sequence,
    "dict": _Decoder._mapping, "odict": _Decoder._mapping,
    "array": _Decoder._array, "scalar": _Decoder._array,
})
