"""Read one JSON document from a file with a size limit and one clear error per failure."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .errors import InputError

MAX_BYTES = 5 * 1024 * 1024


def read_json(path: str | os.PathLike[str], label: str, max_bytes: int = MAX_BYTES) -> Any:
    """Return the parsed document, or raise :class:`InputError` naming ``label`` and the path."""
    where = f"{label} {Path(path)}"
    return parse_json(read_bytes(path, where, max_bytes), where)


def read_bytes(path: str | os.PathLike[str], where: str, max_bytes: int = MAX_BYTES) -> bytes:
    """A file's bytes, or one :class:`InputError` line (``where``: what and which file) saying why not."""
    file = Path(path)
    try:
        if file.is_dir():
            raise InputError(f"{where}: is a directory, expected a file")
        size = file.stat().st_size
        if size > max_bytes:
            raise InputError(f"{where}: file is {size} bytes, larger than the {max_bytes} byte limit")
        return file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{where}: file not found") from None
    except PermissionError:
        raise InputError(f"{where}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror or type(exc).__name__})") from None


def parse_json(raw: bytes | str, where: str) -> Any:
    if not raw.strip():
        raise InputError(f"{where}: file is empty")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None


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
