"""Generate ``_schemas.py``: the core schema pydantic builds for the models of ``models.py``, as data.

Used only to regenerate the file (``python -m cavra_notify.models``), by the test that checks it is
current, and at run time under a pydantic-core other than the one the file was generated with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def model_schemas(documents: Iterable[type], post_init: Callable[[Any], Any]) -> list[dict[str, Any]]:
    """Each model's core schema as pydantic generates it, one definition per model, as data for ``_schemas.py``.

    pydantic describes a dataclass; each becomes a model schema, which keeps unknown keys in
    ``__pydantic_extra__`` (where no key can shadow a field or a method) unless its config forbids
    them, and runs ``__post_init__`` (through ``post_init``) as an after-validator. Refs are the class
    names, so the output is reproducible.
    """
    from pydantic import TypeAdapter

    models: dict[str, dict[str, Any]] = {}

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: _class_name(value) if key in ("ref", "schema_ref") else convert(value)
                for key, value in node.items() if key != "metadata"}
        if node.get("type") == "definitions":
            return node["schema"]
        if node.get("type") != "dataclass":
            return node
        cls, config = node["cls"], node["config"]
        fields = {f["name"]: {"type": "model-field", "schema": f["schema"]} for f in node["schema"]["fields"]}
        model: dict[str, Any] = {"type": "model", "cls": cls, "config": config, "schema": {
            "type": "model-fields", "fields": fields, "model_name": cls.__name__,
            "extra_behavior": config["extra_fields_behavior"]}}
        if node["post_init"]:
            model = {"type": "function-after", "function": {"type": "no-info", "function": post_init},
                     "schema": model}
        models[cls.__name__] = {**model, "ref": cls.__name__}
        return {"type": "definition-ref", "schema_ref": cls.__name__}

    for document in documents:
        convert(TypeAdapter(document).core_schema)
    return [models[name] for name in sorted(models)]


def schema_module(schemas: list[dict[str, Any]], module: str) -> str:
    """The source of ``_schemas.py``: it imports the classes and functions of ``module`` the schemas name."""
    from pydantic_core import __version__

    names = sorted({s["ref"] for s in schemas} | _functions(schemas, module))
    return (
        '"""Generated from models.py by ``python -m cavra_notify.models``: do not edit."""\n\n'
        "from typing import Any\n\n"
        "from .models import (\n" + "".join(f"    {name},\n" for name in names) + ")\n\n"
        f"PYDANTIC_CORE_VERSION = {__version__!r}\n\n"
        f"MODELS: list[dict[str, Any]] = {_render(schemas, 0)}\n"
    )


def _functions(node: Any, module: str) -> set[str]:
    """The names of ``module``'s functions the schema calls."""
    if isinstance(node, dict):
        return set().union(*(_functions(value, module) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_functions(item, module) for item in node))
    return {node.__name__} if callable(node) and getattr(node, "__module__", None) == module else set()


def _class_name(ref: str) -> str:
    return ref.split(":")[0].rsplit(".", 1)[-1]


def _render(node: Any, depth: int) -> str:
    """Python source for ``node``: one key or item a line, short values on one line."""
    if isinstance(node, dict):
        items, opening, closing = [f"{key!r}: {_render(value, depth + 1)}" for key, value in node.items()], "{", "}"
    elif isinstance(node, list):
        items, opening, closing = [_render(item, depth + 1) for item in node], "[", "]"
    else:
        return str(node.__name__) if callable(node) else repr(node)
    flat = opening + ", ".join(items) + closing
    if "\n" not in flat and len(flat) + 4 * depth <= 100:
        return flat
    pad = "    " * (depth + 1)
    return opening + "\n" + "".join(f"{pad}{item},\n" for item in items) + "    " * depth + closing
