"""Hook specifications. Every hook is documented; a test fails when one is not.

Plugins implement hooks with ``@cavra_notify.hookimpl`` in a module named by an entry point in the
``cavra_notify`` group, e.g. in the plugin's ``pyproject.toml``::

    [project.entry-points.cavra_notify]
    webhook = "cavra_notify_webhook"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from .provider import Provider

if TYPE_CHECKING:
    from .testkit.conformance import ConformanceCase

PROJECT = "cavra_notify"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def cavra_register_providers(register: Callable[[Provider], None]) -> None:
    """Register the providers this plugin offers.

    :param register: call it once per :class:`~cavra_notify.provider.Provider`; a second provider
        with a name already taken is refused with a warning naming both distributions.
    :return: nothing; the return value is ignored.
    """


@hookspec
def cavra_delivery_recorded(evidence: Mapping[str, Any]) -> None:
    """Observe one redacted delivery evidence record after it is stored.

    Called once per route and connector after delivery finished (success or failure), for
    metrics, logs or forwarding to an audit system. Exceptions are logged and ignored.

    :param evidence: the redacted ``release-connector-delivery`` record (read only).
    :return: nothing; the return value is ignored.
    """


@hookspec
def cavra_conformance_cases() -> list[ConformanceCase]:
    """Describe how the test kit's conformance check exercises this plugin's providers.

    ``cavra plugins check NAME`` calls it for plugin ``NAME`` only and runs
    :func:`~cavra_notify.testkit.check_conformance` on every case; a plugin's own tests can run the
    same cases. Import the test kit (and any fake) inside the implementation, so that loading the
    plugin for delivery never imports them.

    :return: one :class:`~cavra_notify.testkit.ConformanceCase` per provider mode worth checking.
    """
    raise NotImplementedError  # a specification: pluggy calls the plugins' implementations
