"""Evidence bundles: a schedule's records in store order, each hashed and chained, and their check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import InputError
from .codec import canonical_json, sha256_hex
from .protocol import iso_z

BUNDLE_SCHEMA = "cavra.go-backend-pilot.rollback-drill-evidence-bundle.v1"
GENESIS_HASH = "0" * 64
_HASHED_FIELDS = ("kind", "id", "schedule_id", "provider", "outcome", "recorded_at", "payload")


def content_hash(record: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json({name: record.get(name) for name in _HASHED_FIELDS}))


def chain_step(previous: str, content: str) -> str:
    return sha256_hex(previous + content)


def build_bundle(schedule_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
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
        "hash_algorithm": "sha256",
        "canonical_json": "UTF-8 JSON, keys sorted, separators ',' and ':', no NaN",
        "genesis_hash": GENESIS_HASH,
        "record_count": len(out),
        "records": out,
        "chain_hash": chain,
    }


def verify_bundle(bundle: Any) -> list[str]:
    """Problems found in an exported bundle, one line each; an empty list means intact."""
    if not isinstance(bundle, dict):
        return ["bundle is not a JSON object"]
    problems: list[str] = []
    if bundle.get("schema_version") != BUNDLE_SCHEMA:
        problems.append(f"schema_version is not {BUNDLE_SCHEMA}")
    records = bundle.get("records")
    if not isinstance(records, list):
        return [*problems, "bundle has no 'records' list"]
    if bundle.get("record_count") != len(records):
        problems.append(
            f"record_count says {bundle.get('record_count')} but the bundle holds {len(records)} records"
        )
    previous = str(bundle.get("genesis_hash", GENESIS_HASH))
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
        try:
            digest = content_hash(record)
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
