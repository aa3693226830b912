"""Signed evidence bundles: Ed25519 (through the ``cryptography`` package) over the bundle's statement.

The key is the private connector config's ``evidence_signing_key`` (a secret: literal, ``{"env": ...}``
or ``{"file": ...}``) holding a PEM private key (``openssl genpkey -algorithm ed25519``); auditors verify
with the PEM public key (``openssl pkey -pubout``). The statement is the canonical JSON of
:data:`SIGNED_FIELDS`, so the schedule, the sequence range, the record count and the final chain hash —
and through it every record — are covered.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InputError
from .codec import canonical_json

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNED_FIELDS = ("schema_version", "schedule_id", "exported_at", "range", "hash_algorithm", "genesis_hash",
                 "record_count", "chain_hash")
_NEEDS = "signed bundles need the 'cryptography' package: pip install 'cavra-notify[signing]'"


def _serialization() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise ConfigError(_NEEDS) from None
    return serialization


def statement(bundle: dict[str, Any]) -> bytes:
    return canonical_json({name: bundle.get(name) for name in SIGNED_FIELDS}).encode("utf-8")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    ser = _serialization()
    raw: bytes = key.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    return raw


def private_key(pem: str, where: str = "evidence_signing_key") -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = _serialization().load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{where}: not a PEM private key without a passphrase") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{where}: not an Ed25519 key (openssl genpkey -algorithm ed25519)")
    return key


def public_key(pem: bytes, where: str) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = _serialization().load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InputError(f"{where}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{where}: not an Ed25519 public key")
    return key


def sign_bundle(bundle: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The bundle with a ``signature`` over its statement."""
    return {**bundle, "signature": {
        "algorithm": "ed25519",
        "signed_fields": list(SIGNED_FIELDS),
        "public_key_sha256": hashlib.sha256(_raw_public(key.public_key())).hexdigest(),
        "value": base64.b64encode(key.sign(statement(bundle))).decode("ascii"),
    }}


def signature_problems(bundle: dict[str, Any], key: Ed25519PublicKey) -> list[str]:
    """Why the bundle's signature does not prove it came from the holder of ``key`` (empty: it does)."""
    from cryptography.exceptions import InvalidSignature

    signature = bundle.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        return ["bundle is not signed (export it with evidence_signing_key in the connector config)"]
    if signature.get("algorithm") != "ed25519" or signature.get("signed_fields") != list(SIGNED_FIELDS):
        return ["signature: unknown algorithm or signed fields"]
    try:
        key.verify(base64.b64decode(signature["value"], validate=True), statement(bundle))
    except (InvalidSignature, ValueError):
        return ["signature does not match the bundle and this public key (altered, cut, or another key)"]
    return []


def config_signing_key(config_path: str) -> Ed25519PrivateKey | None:
    """The signing key of the private connector config at ``config_path``, or None when it sets none."""
    from ..connectors import read_config, resolve_secret

    ref = read_config(config_path).signing_key_ref
    if ref is None:
        return None
    pem = resolve_secret(ref, "evidence_signing_key")
    if not isinstance(pem, str) or not pem.strip():
        raise ConfigError("evidence_signing_key: expected a PEM private key (or an env/file reference to one)")
    return private_key(pem)


def signed_export(store: Any, schedule_id: str, *, from_seq: int | None, to_seq: int | None,
                  config_path: str | None) -> tuple[dict[str, Any], str | None]:
    """The export, signed with the config's key when it has one; else a note saying it is unsigned."""
    key = config_signing_key(config_path) if config_path else None
    bundle: dict[str, Any] = store.export(schedule_id, from_seq=from_seq, to_seq=to_seq)
    if key is None:
        return bundle, "bundle is unsigned: set evidence_signing_key in the connector config to sign it"
    return sign_bundle(bundle, key), None


def verify_with_key(bundle: dict[str, Any], public_key_path: str | None) -> tuple[list[str], str]:
    """Integrity problems plus, with a public key, signature problems; and what an intact result proves."""
    from ..jsonfile import read_bytes
    from .bundle import verify_bundle

    problems = verify_bundle(bundle)
    if public_key_path is None:
        proof = "integrity only: pass --public-key to check who signed it and that nothing was cut"
    else:
        problems += signature_problems(bundle, public_key(read_bytes(public_key_path, "public key"),
                                                          f"public key {public_key_path}"))
        proof = "signature valid for this public key"
    return problems, proof
