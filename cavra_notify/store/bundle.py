"""Evidence bundles: a schedule's records in store order, each hashed and chained, and their check.

Each record carries its store sequence number (``seq``) inside the hashed content; the chain always
starts at :data:`GENESIS_HASH` (a chain inside a bundle cannot anchor itself); ``range`` says which
sequence numbers the export covers. A signature (:mod:`.signing`) over the bundle's statement — schedule,
range, record count and final chain hash — is what proves nothing was removed from either end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import InputError
from .codec import canonical_json, sha256_hex
from .protocol import iso_z

BUNDLE_SCHEMA = "cavra.go-backend-pilot.rollback-drill-evidence-bundle.v2"
LEGACY_SCHEMA = "cavra.go-backend-pilot.rollback-drill-evidence-bundle.v1"
GENESIS_HASH = "0" * 64
_HASHED_FIELDS = ("seq", "kind", "id", "schedule_id", "provider", "outcome", "recorded_at", "payload")
_LEGACY_FIELDS = _HASHED_FIELDS[1:]


def content_hash(record: Mapping[str, Any], fields: tuple[str, ...] = _HASHED_FIELDS) -> str:
    return sha256_hex(canonical_json({name: record.get(name) for name in fields}))


def chain_step(previous: str, content: str) -> str:
    return sha256_hex(previous + content)


def build_bundle(schedule_id: str, records: list[dict[str, Any]], *, from_seq: int | None = None,
                 to_seq: int = 0) -> dict[str, Any]:
    """The bundle of ``records`` (each with its ``seq``), all of the schedule's records in
    ``from_seq..to_seq`` (``from_seq`` None: from the first)."""
    chain = GENESIS_HASH
    out: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        digest = content_hash(record)
        chain = chain_step(chain, digest)
        out.append({"index": index, **record, "content_hash": digest, "chain_hash": chain})
    return {
        "schema_version": BUNDLE_SCHEMA,
        "schedule_id": schedule_id,
        "exported_at": iso_z(datetime.now(UTC)),
        "range": {"from_seq": from_seq, "to_seq": to_seq, "complete": from_seq is None},
        "hash_algorithm": "sha256",
        "canonical_json": "UTF-8 JSON, keys sorted, separators ',' and ':', no NaN",
        "genesis_hash": GENESIS_HASH,
        "record_count": len(out),
        "records": out,
        "chain_hash": chain,
    }


def _range(bundle: dict[str, Any]) -> tuple[int | None, int | None, list[str]]:
    stated = bundle.get("range")
    if not isinstance(stated, dict):
        return None, None, ["bundle has no 'range' object"]
    low, high = stated.get("from_seq"), stated.get("to_seq")
    if (low is not None and not _is_int(low)) or not _is_int(high):
        return None, None, ["range: from_seq must be an integer or null and to_seq an integer"]
    if stated.get("complete") is not (low is None):
        return None, None, ["range: 'complete' must be true exactly when from_seq is null"]
    return low, high, []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def verify_bundle(bundle: Any) -> list[str]:
    """Problems found in an exported bundle, one line each; an empty list means intact.

    This checks integrity (hashes, chain, anchor, range); authenticity needs the signature check."""
    if not isinstance(bundle, dict):
        return ["bundle is not a JSON object"]
    problems: list[str] = []
    legacy = bundle.get("schema_version") == LEGACY_SCHEMA
    if bundle.get("schema_version") not in (BUNDLE_SCHEMA, LEGACY_SCHEMA):
        problems.append(f"schema_version is not {BUNDLE_SCHEMA}")
    records = bundle.get("records")
    if not isinstance(records, list):
        return [*problems, "bundle has no 'records' list"]
    low, high, range_problems = (None, None, []) if legacy else _range(bundle)
    problems += range_problems
    if bundle.get("record_count") != len(records):
        problems.append(
            f"record_count says {bundle.get('record_count')} but the bundle holds {len(records)} records"
        )
    if bundle.get("genesis_hash", GENESIS_HASH) != GENESIS_HASH:
        problems.append("genesis_hash is not the fixed genesis (a chain cannot anchor itself: records were cut "
                        "from the front)")
    previous, last_seq = GENESIS_HASH, None
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append(f"record {position}: not a JSON object")
            continue
        label = f"record {position} ({record.get('kind')} {record.get('id')})"
        if record.get("index") != position:
            problems.append(
                f"{label}: index is {record.get('index')}, expected {position} "
                "(a record was removed, inserted or reordered)"
            )
        if not legacy:
            seq = record.get("seq")
            if not isinstance(seq, int) or not _is_int(seq) or (last_seq is not None and seq <= last_seq):
                problems.append(f"{label}: seq {seq!r} is not an integer above the previous record's")
            elif (low is not None and seq < low) or (high is not None and seq > high):
                problems.append(f"{label}: seq {seq} is outside the stated range")
            else:
                last_seq = seq
        try:
            digest = content_hash(record, _LEGACY_FIELDS if legacy else _HASHED_FIELDS)
        except InputError:
            problems.append(f"{label}: content is not canonical JSON")
            continue
        if record.get("content_hash") != digest:
            problems.append(f"{label}: content hash mismatch (the record was altered)")
        stated = str(record.get("content_hash"))
        if record.get("chain_hash") != chain_step(previous, stated):
            problems.append(f"{label}: chain hash mismatch (a record before it was removed, inserted or changed)")
        previous = str(record.get("chain_hash"))
    if bundle.get("chain_hash") != previous:
        problems.append("bundle chain_hash does not match the last record (records removed or appended)")
    return problems
