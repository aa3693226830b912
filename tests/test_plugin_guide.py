"""The plugin guide's example plugin, taken from docs/writing-a-plugin.md as a new author would copy it,
passes the conformance check and honours the network settings (a proxy the connector names)."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from cavra_notify import Receipt
from cavra_notify.testkit import FakeProxy, FakeReceiver, check_conformance, deliver_once, make_request

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "writing-a-plugin.md"


def example(heading: str) -> str:
    text = GUIDE.read_text()
    match = re.search(re.escape(f"### `{heading}`") + r"\s*```python\n(.*?)```", text, re.S)
    assert match, f"{heading} not found in the guide"
    return match.group(1)


@pytest.fixture
def acmepager(tmp_path: Path) -> Iterator[ModuleType]:
    package = tmp_path / "cavra_notify_acmepager"
    package.mkdir()
    (package / "__init__.py").write_text(example("cavra_notify_acmepager/__init__.py"))
    (package / "conformance.py").write_text(example("cavra_notify_acmepager/conformance.py"))
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("cavra_notify_acmepager")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("cavra_notify_acmepager")]:
            del sys.modules[name]


def test_the_guides_example_passes_the_conformance_check(acmepager: ModuleType) -> None:
    cases = acmepager.cavra_conformance_cases()
    assert len(cases) == 1
    for case in cases:
        check_conformance(case)


def test_the_guides_example_goes_through_the_connectors_proxy(acmepager: ModuleType) -> None:
    case = acmepager.cavra_conformance_cases()[0]
    with FakeReceiver(case.success) as acme, FakeProxy() as proxy:
        settings = {**case.settings_for(acme.url, "tok-canary"), "proxy": proxy.url}
        receipt = deliver_once(acmepager.PROVIDER, make_request(acmepager.PROVIDER, settings))
    assert isinstance(receipt, Receipt) and receipt.details == {"page_id": "PG-1001"}
    assert [seen.method for seen in proxy.seen] == ["POST"] and len(acme.requests) == 1
