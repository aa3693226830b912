"""Read one JSON document from a regular file with a size limit and one clear error per failure.

Only regular files are read (a FIFO, ``/dev/zero`` or a socket is refused before any read, so nothing
hangs or fills memory). The parser refuses what ``json`` would otherwise let through quietly: NaN and
Infinity (and numbers that overflow to them), integers longer than :data:`MAX_INT_DIGITS` digits,
strings holding a lone UTF-16 surrogate, and an object that repeats a key (the last would win).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from typing import Any

from .errors import InputError

MAX_BYTES = 5 * 1024 * 1024
MAX_INT_DIGITS = 20
MAX_VALUES = 100_000
"""The most JSON values (scalars, lists and objects) one document may hold: bounds the guard's work."""
_INT_LIMIT = 10**MAX_INT_DIGITS


def read_json(path: str | os.PathLike[str], label: str, max_bytes: int = MAX_BYTES) -> Any:
    """Return the parsed document, or raise :class:`InputError` naming ``label`` and the path."""
    where = f"{label} {printable(str(path))}"
    return parse_json(read_bytes(path, where, max_bytes), where)


def printable(text: str) -> str:
    """``text`` safe to print on one line (control characters, terminal escapes and surrogates escaped)."""
    if text.isprintable():
        return text
    return ascii(text)[1:-1]


def read_bytes(path: str | os.PathLike[str], where: str, max_bytes: int = MAX_BYTES) -> bytes:
    """A regular file's bytes, or one :class:`InputError` line (``where``: what and which file) saying why not."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{where}: file not found") from None
    except PermissionError:
        raise InputError(f"{where}: permission denied") from None
    except IsADirectoryError:
        raise InputError(f"{where}: is a directory, expected a file") from None
    except (ValueError, UnicodeError):  # an embedded NUL or an unencodable path
        raise InputError(f"{where}: not a valid file path") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    info = os.fstat(fd)
    problem = ("is a directory, expected a file" if stat.S_ISDIR(info.st_mode)
               else "not a regular file (a device, pipe or socket is never read)" if not stat.S_ISREG(info.st_mode)
               else f"file is {info.st_size} bytes, larger than the {max_bytes} byte limit"
               if info.st_size > max_bytes else None)
    if problem:
        os.close(fd)
        raise InputError(f"{where}: {problem}")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(f"{where}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise InputError(f"{where}: file is larger than the {max_bytes} byte limit")
    return data


def parse_json(raw: bytes | str, where: str) -> Any:
    if not raw.strip():
        raise InputError(f"{where}: file is empty")
    repeats: list[tuple[dict[str, Any], int]] = []

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            keys = [key for key, _ in pairs]
            repeats.append((result, next(i for i, key in enumerate(keys) if key in keys[:i])))
        return result

    try:
        text = raw.decode(json.detect_encoding(raw)) if isinstance(raw, bytes) else raw
        document = json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded_int,
                              object_pairs_hook=unique_keys)
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text") from None
    except _NumberError as exc:
        raise InputError(f"{where}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None
    if repeats:
        parent, index = repeats[0]
        at = _path_of(document, parent)
        raise InputError(f"{where}: {json_path(at) if at is not None else '$'}: key number {index + 1} "
                         "repeats an earlier key of the same object (each key may appear once)")
    if _too_many(document):
        raise InputError(f"{where}: more than {MAX_VALUES} JSON values (the per-file limit)")
    if _SURROGATE_ESCAPE.search(text) or _SURROGATE.search(text):
        refused = value_problem(document)
        if refused is not None:
            raise InputError(f"{where}: {json_path(refused[0])}: {refused[1]}")
    return document


class _NumberError(ValueError):
    """A number the documents never need: non-finite, or an integer beyond :data:`MAX_INT_DIGITS` digits."""


def _no_constant(name: str) -> Any:
    raise _NumberError(f"{name} is not a JSON number (only finite numbers are accepted)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberError(f"number {text[:20]}{'...' if len(text) > 20 else ''} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NumberError(f"an integer of {len(text.lstrip('-'))} digits is longer than the "
                           f"{MAX_INT_DIGITS} digit limit")
    return int(text)


def _too_many(document: Any) -> bool:
    count, pending = 0, [document]
    while pending:
        node = pending.pop()
        count += 1
        if isinstance(node, dict):
            count += len(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        if count + len(pending) > MAX_VALUES:
            return True
    return False


def _path_of(node: Any, target: object, parts: tuple[int | str, ...] = ()) -> tuple[int | str, ...] | None:
    """Where ``target`` (an object of the document, by identity) sits in ``node``."""
    if node is target:
        return parts
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        if isinstance(child, dict | list):
            found = _path_of(child, target, (*parts, key))
            if found is not None:
                return found
    return None


def value_problem(node: Any, parts: tuple[int | str, ...] = ()) -> tuple[tuple[int | str, ...], str] | None:
    """The first value of a parsed document (from JSON or TOML) the product refuses, with its path and
    why: a non-finite number, an integer beyond :data:`MAX_INT_DIGITS` digits, a lone surrogate."""
    if isinstance(node, str):
        return (parts, "holds a lone UTF-16 surrogate (not valid Unicode)") if _SURROGATE.search(node) else None
    if isinstance(node, float) and not math.isfinite(node):
        return parts, "only finite numbers are accepted"
    if isinstance(node, int) and not isinstance(node, bool) and not -_INT_LIMIT < node < _INT_LIMIT:
        return parts, f"an integer longer than the {MAX_INT_DIGITS} digit limit"
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        if isinstance(key, str) and _SURROGATE.search(key):
            return parts, "a key holds a lone UTF-16 surrogate (not valid Unicode)"
        found = value_problem(child, (*parts, key))
        if found is not None:
            return found
    return None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_path(parts: tuple[int | str, ...] | list[int | str]) -> str:
    """``("owner_routes", "ops", "providers", 0)`` → ``$.owner_routes.ops.providers[0]``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")
