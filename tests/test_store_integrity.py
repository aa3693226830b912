"""Issue 15 (items 3, 7, 11): leases on the store's clock, signed and range-stating evidence bundles, and
read commands that work on a read-only filesystem."""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cavra_notify.cli import main
from cavra_notify.store import GENESIS_HASH, RouteClaim, SQLiteStore, open_store, verify_bundle
from cavra_notify.store.bundle import chain_step, content_hash

from .test_store import DAY, T0, evidence, plan

pytest.importorskip("cryptography")
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

ROUTE = [RouteClaim("sched-a@2025-03-10", "r1", "slack-main", "dk-1")]


def test_a_later_callers_now_never_expires_a_live_lease(tmp_path: Path) -> None:
    """Two deliveries evaluated at T and T+6 min, on the same store clock: the second finds the route in flight."""
    store = open_store(tmp_path / "ev.db")
    assert isinstance(store, SQLiteStore)
    store.clock = lambda: T0
    first = store.claim_many(ROUTE, now=T0, repeat_interval=DAY, force=False, lease_seconds=300)
    later = store.claim_many(ROUTE, now=T0 + timedelta(minutes=6), repeat_interval=DAY, force=False,
                             lease_seconds=300)
    assert (first, later) == (["send"], ["in_flight"])
    store.clock = lambda: T0 + timedelta(seconds=301)  # the lease ends on the store's clock, whatever `now` says
    assert store.claim_many(ROUTE, now=T0, repeat_interval=DAY, force=False, lease_seconds=300) == ["settle"]
    [intent] = store.pending_intents()
    assert intent["lease_until"] == "2025-03-01T09:10:01.000000Z"
    store.close()


# --- signed bundles -----------------------------------------------------------------------------


def _pem(key: Ed25519PrivateKey) -> tuple[str, bytes]:
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    db = tmp_path / "ev.db"
    store = open_store(db)
    store.save_plan(plan("sched-a", T0))
    store.save_plan(plan("sched-b", T0))  # another schedule's records interleave the sequence numbers
    for n in range(6):
        store.save_evidence(evidence("sched-a", n, T0 + timedelta(minutes=n)))  # type: ignore[attr-defined]
        store.save_evidence(evidence("sched-b", n, T0 + timedelta(minutes=n)))  # type: ignore[attr-defined]
    store.close()
    private, public = _pem(Ed25519PrivateKey.generate())
    monkeypatch.setenv("CANARY_SIGNING_KEY", private)
    config = tmp_path / "connectors.json"
    config.write_text(json.dumps({"connectors": {}, "evidence_signing_key": {"env": "CANARY_SIGNING_KEY"}}))
    (tmp_path / "signer.pub").write_bytes(public)
    (tmp_path / "other.pub").write_bytes(_pem(Ed25519PrivateKey.generate())[1])
    return {"db": str(db), "config": str(config), "pub": str(tmp_path / "signer.pub"),
            "other": str(tmp_path / "other.pub"), "dir": tmp_path, "private": private}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def export(capsys: pytest.CaptureFixture[str], world: dict[str, Any], *extra: str) -> dict[str, Any]:
    code, out, err = cli(capsys, "evidence", "export", "sched-a", "--evidence-db", world["db"],
                         "--connector-config", world["config"], *extra)
    assert code == 0, err
    assert world["private"] not in out + err
    bundle: dict[str, Any] = json.loads(out)
    return bundle


def verify(capsys: pytest.CaptureFixture[str], world: dict[str, Any], bundle: dict[str, Any],
           *extra: str) -> tuple[int, str]:
    path = world["dir"] / "bundle.json"
    path.write_text(json.dumps(bundle))
    code, out, _ = cli(capsys, "evidence", "verify", str(path), *extra)
    return code, out


def test_a_signed_bundle_verifies_with_the_public_key_only(capsys: pytest.CaptureFixture[str],
                                                           world: dict[str, Any]) -> None:
    bundle = export(capsys, world)
    assert bundle["signature"]["algorithm"] == "ed25519" and bundle["range"]["complete"] is True
    assert [r["seq"] for r in bundle["records"]] == sorted(r["seq"] for r in bundle["records"])
    assert len({r["seq"] for r in bundle["records"]}) == bundle["record_count"] == 7
    code, out = verify(capsys, world, bundle, "--public-key", world["pub"])
    assert code == 0 and "signature valid" in out, out
    code, out = verify(capsys, world, bundle, "--public-key", world["other"])
    assert code == 1 and "signature does not match" in out


def _cut_front(bundle: dict[str, Any], n: int, *, rechain: bool) -> dict[str, Any]:
    """The red-team reproduction: drop the first records, renumber, re-anchor (or recompute the chain)."""
    cut = copy.deepcopy(bundle)
    removed, kept = cut["records"][:n], cut["records"][n:]
    cut["genesis_hash"] = GENESIS_HASH if rechain else removed[-1]["chain_hash"]
    chain = cut["genesis_hash"]
    for index, record in enumerate(kept):
        record["index"] = index
        if rechain:
            record["content_hash"] = content_hash(record)
            chain = record["chain_hash"] = chain_step(chain, record["content_hash"])
    cut["records"], cut["record_count"] = kept, len(kept)
    cut["chain_hash"] = kept[-1]["chain_hash"]
    return cut


def test_verify_refuses_a_bundle_cut_at_the_front(capsys: pytest.CaptureFixture[str], world: dict[str, Any]) -> None:
    bundle = export(capsys, world)
    re_anchored = _cut_front(bundle, 2, rechain=False)
    code, out = verify(capsys, world, re_anchored)  # even without a key: a chain cannot anchor itself
    assert code == 1 and "genesis_hash is not the fixed genesis" in out
    rechained = _cut_front(bundle, 2, rechain=True)
    assert verify_bundle(rechained) == []  # hashes alone cannot tell: that is what the signature is for
    code, out = verify(capsys, world, rechained, "--public-key", world["pub"])
    assert code == 1 and "signature does not match" in out
    unsigned = {k: v for k, v in rechained.items() if k != "signature"}
    code, out = verify(capsys, world, unsigned, "--public-key", world["pub"])
    assert code == 1 and "bundle is not signed" in out


def test_a_range_export_says_and_signs_its_range(capsys: pytest.CaptureFixture[str], world: dict[str, Any]) -> None:
    full = export(capsys, world)
    seqs = [r["seq"] for r in full["records"]]
    part = export(capsys, world, "--from-seq", str(seqs[2]), "--to-seq", str(seqs[4]))
    assert part["range"] == {"from_seq": seqs[2], "to_seq": seqs[4], "complete": False}
    assert [r["seq"] for r in part["records"]] == seqs[2:5]
    assert verify(capsys, world, part, "--public-key", world["pub"])[0] == 0
    widened = copy.deepcopy(part)
    widened["range"] = {"from_seq": None, "to_seq": seqs[4], "complete": True}  # passing a range off as complete
    code, out = verify(capsys, world, widened, "--public-key", world["pub"])
    assert code == 1 and "signature does not match" in out
    outside = copy.deepcopy(part)
    outside["range"]["to_seq"] = seqs[3]
    assert any("outside the stated range" in p for p in verify_bundle(outside))


def test_an_export_without_a_key_says_it_is_unsigned(capsys: pytest.CaptureFixture[str],
                                                     world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAVRA_CONNECTOR_CONFIG", raising=False)
    code, out, err = cli(capsys, "evidence", "export", "sched-a", "--evidence-db", world["db"])
    assert code == 0 and "signature" not in json.loads(out) and "bundle is unsigned" in err


def test_a_bad_signing_key_is_one_clear_line(capsys: pytest.CaptureFixture[str], world: dict[str, Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANARY_SIGNING_KEY", "not-a-key-canary-7f3a")
    code, out, err = cli(capsys, "evidence", "export", "sched-a", "--evidence-db", world["db"],
                         "--connector-config", world["config"])
    assert code == 2 and "evidence_signing_key: not a PEM private key" in err and "canary" not in out + err


# --- read-only filesystem -----------------------------------------------------------------------


@pytest.fixture
def read_only_store() -> Iterator[Path]:
    """A store in a folder nobody may write (as root, see ``_read_only_prefix``)."""
    folder = Path(tempfile.mkdtemp(prefix="cavra-ro-"))
    folder.chmod(0o755)
    db = folder / "ev.db"
    store = open_store(db)
    store.save_plan(plan("sched-a", T0))
    store.save_evidence(evidence("sched-a", 1, T0))  # type: ignore[attr-defined]
    store.close()
    assert sorted(p.name for p in folder.iterdir()) == ["ev.db"], "a clean close leaves no WAL files"
    db.chmod(0o444)
    folder.chmod(0o555)
    yield db
    folder.chmod(0o755)
    db.unlink()
    folder.rmdir()


# As root, file modes do not stop a write: the commands run with the store's folder mounted read-only
# in a mount namespace of their own (a real read-only filesystem); where that is not permitted, as the
# user 'nobody' (which needs the checkout to be readable by everyone).
_READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def _read_only_prefix(folder: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    probe = subprocess.run(["unshare", "--mount", "sh", "-c", _READ_ONLY_MOUNT, str(folder), "true"],
                           capture_output=True, timeout=30, check=False)
    if probe.returncode == 0:
        return ["unshare", "--mount", "sh", "-c", _READ_ONLY_MOUNT, str(folder)]
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _as_reader(*argv: str, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    return subprocess.run([*_read_only_prefix(folder), sys.executable, "-m", "cavra_notify", *argv],
                          capture_output=True, text=True, timeout=60, env={**env, "HOME": "/nonexistent"}, cwd="/")


def test_read_commands_work_on_a_read_only_store(read_only_store: Path) -> None:
    assert not os.access(read_only_store.parent, os.W_OK) or os.geteuid() == 0
    folder = read_only_store.parent
    listed = _as_reader("evidence", "list", "--evidence-db", str(read_only_store), "--json", folder=folder)
    assert listed.returncode == 0, listed.stderr
    assert {r["kind"] for r in json.loads(listed.stdout)} == {"plan", "delivery"}
    exported = _as_reader("evidence", "export", "sched-a", "--evidence-db", str(read_only_store), folder=folder)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["record_count"] == 2
    assert sorted(p.name for p in read_only_store.parent.iterdir()) == ["ev.db"]
    assert stat.S_IMODE(read_only_store.stat().st_mode) == 0o444


def test_a_read_command_on_a_missing_store_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "evidence", "list", "--evidence-db", str(tmp_path / "typo.db"))
    assert code == 5 and "no evidence store at" in err and not (tmp_path / "typo.db").exists()
