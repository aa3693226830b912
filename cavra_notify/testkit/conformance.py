"""Conformance check for provider plugins: secrets declared and kept secret, failures classified,
timeouts honoured.

A plugin author describes how to point their provider at a local fake and what a success answer of
the real service looks like; :func:`check_conformance` does the rest against a loopback
:class:`~cavra_notify.testkit.FakeReceiver`. Call it from an ordinary test::

    from cavra_notify.testkit import Request, Response
    from cavra_notify.testkit.conformance import ConformanceCase, check_conformance

    from cavra_notify_example import PROVIDER


    def test_conformance() -> None:
        check_conformance(
            ConformanceCase(
                provider=PROVIDER,
                settings_for=lambda base_url, canary: {"base_url": base_url, "token": canary},
                success=lambda request: Response(200, {"ok": True, "id": "msg-1"}),
            )
        )

What is checked (all problems are reported together in one ``AssertionError``):

- the settings model declares at least one secret field (typed ``SecretStr``) and every secret
  value produced by ``settings_for`` contains the canary;
- a success answer gives a :class:`~cavra_notify.provider.Receipt`;
- HTTP 429 with ``Retry-After: 2`` is ``rate_limited`` with ``retry_after`` about 2 seconds;
  500 and 503 are ``server_error``; 401 is ``auth``; 400 is ``client_error``;
- an answer delayed three times the timeout is ``timeout`` and deliver returns within about twice
  the timeout; a closed port is ``connection``;
- one ``deliver`` sends one request to a service that fails every request (429, 5xx, 4xx, a slow
  answer): a plugin that retries on its own fails the check, because the core owns retries;
- an async ``deliver`` awaits its I/O: while the service takes 0.6 s to answer, its event loop is
  never blocked for more than 0.3 s (a sync client or ``time.sleep`` inside ``async def`` fails);
- the canary appears in no receipt, no exception (str, repr, args, or the chained exceptions a
  traceback would show) and no log record of any logger at DEBUG level (including loggers that
  do not propagate to the root or had a higher level set).

Failing answers are given to *every* request of a scenario, so providers that make several calls
per delivery (search, then create) are covered too.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, SecretStr

from ..provider import DeliveryFailure, FailureClass, Provider, Receipt, secret_field_names
from .receiver import FakeReceiver, Handler, Request, Response, closed_port
from .requests import assert_no_secret_leak, deliver_once, make_request

__all__ = ["ConformanceCase", "check_conformance"]


def _default_error_body(status: int) -> Any:
    return {"error": "scripted"}


@dataclass
class ConformanceCase:
    """How to exercise one provider against the loopback fake.

    ``settings_for(base_url, canary)`` returns connector settings pointing at ``base_url``; every
    secret field's value must contain ``canary``. ``success`` answers a request the way the real
    service answers success. ``error_body(status)`` is the body sent with failing statuses.
    """

    provider: Provider
    settings_for: Callable[[str, str], dict[str, Any]]
    success: Handler
    error_body: Callable[[int], Any] = _default_error_body
    timeout: float = 0.5


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(self.format(record))
        except Exception as exc:  # a record that cannot be formatted is still evidence
            self.texts.append(f"{record.name} {record.msg!r} {record.args!r} ({type(exc).__name__})")


@contextmanager
def _capture_logs() -> Iterator[_Records]:
    """Record every logger at DEBUG, before any root handler's filter can rewrite the record.

    Non-propagating, disabled and quieted loggers are included; everything is restored afterwards.
    """
    handler = _Records()
    root = logging.getLogger()
    loggers = [root] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = {logger: (logger.level, logger.disabled) for logger in loggers}
    isolated = [logger for logger in loggers if not logger.propagate]
    disabled = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.disabled = False
        if logger.level > logging.DEBUG:
            logger.setLevel(logging.DEBUG)
    for logger in [root, *isolated]:
        logger.handlers.insert(0, handler)
    try:
        yield handler
    finally:
        for logger in [root, *isolated]:
            logger.removeHandler(handler)
        for logger, (level, was_disabled) in saved.items():
            logger.setLevel(level)
            logger.disabled = was_disabled
        logging.disable(disabled)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything a traceback of it would print."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return seen


class _Checker:
    def __init__(self, case: ConformanceCase) -> None:
        self.case = case
        self.name = case.provider.name
        self.canary = "cavra-canary-" + uuid.uuid4().hex
        self.problems: list[str] = []
        self.outputs: list[tuple[str, Any]] = []

    def fail(self, scenario: str, problem: str) -> None:
        self.problems.append(f"[{scenario}] {problem}")

    def settings(self, scenario: str, base_url: str) -> dict[str, Any] | None:
        try:
            return dict(self.case.settings_for(base_url, self.canary))
        except Exception as exc:
            self.fail(scenario, f"settings_for raised {type(exc).__name__}")
            return None

    def attempt(self, scenario: str, base_url: str) -> tuple[Any, BaseException | None, float]:
        """Deliver once; return (receipt, exception, elapsed seconds)."""
        settings = self.settings(scenario, base_url)
        if settings is None:
            return None, None, 0.0
        try:
            request = make_request(self.case.provider, settings, timeout=self.case.timeout)
        except Exception as exc:
            self.fail(scenario, f"settings do not validate against the settings model: {type(exc).__name__}")
            self.outputs.append((scenario, exc))
            return None, None, 0.0
        started = time.monotonic()
        try:
            receipt = deliver_once(self.case.provider, request)
        except Exception as exc:
            elapsed = time.monotonic() - started
            self.outputs.extend((scenario, item) for item in _chain(exc))
            return None, exc, elapsed
        elapsed = time.monotonic() - started
        self.outputs.append((scenario, receipt))
        return receipt, None, elapsed

    def expect_failure(
        self, scenario: str, base_url: str, expected: FailureClass, receiver: FakeReceiver | None = None
    ) -> tuple[DeliveryFailure | None, float]:
        before = len(receiver.requests) if receiver is not None else 0
        receipt, exc, elapsed = self.attempt(scenario, base_url)
        if receiver is not None:
            time.sleep(0.05)  # a retry the plugin left running in the background still counts
            sent = len(receiver.requests) - before
            if sent > 1:
                self.fail(scenario, f"one deliver sent {sent} requests to a service that fails every request: "
                          "the plugin retries on its own; turn its client's retries off (the core owns retries)")
        if exc is None:
            if receipt is not None:
                self.fail(
                    scenario, f"expected DeliveryFailure({expected.value}) but deliver returned {receipt!r}"
                )
            return None, elapsed
        if not isinstance(exc, DeliveryFailure):
            self.fail(
                scenario,
                f"expected DeliveryFailure({expected.value}) but deliver raised {type(exc).__name__}; "
                "use cavra_notify.failures.check_response / classify_exception",
            )
            return None, elapsed
        if exc.failure_class is not expected:
            self.fail(
                scenario,
                f"classified as {exc.failure_class.value}, expected {expected.value}",
            )
        return exc, elapsed

    def scripted(self, status: int, headers: dict[str, str] | None = None) -> Handler:
        body = self.case.error_body(status)
        return lambda request: Response(status, body, dict(headers or {}))

    def check_secrets_declared(self) -> None:
        model: type[BaseModel] = self.case.provider.settings_model
        names = secret_field_names(model)
        if not names:
            self.fail(
                "secrets",
                f"settings model {model.__name__} declares no secret field; type credentials as SecretStr",
            )
            return
        settings = self.settings("secrets", "http://127.0.0.1:9")
        if settings is None:
            return
        try:
            validated = model.model_validate(settings)
        except Exception as exc:
            self.fail("secrets", f"settings do not validate against {model.__name__}: {type(exc).__name__}")
            self.outputs.append(("secrets", exc))
            return
        present = 0
        for name in names:
            value = getattr(validated, name, None)
            if value is None:
                continue
            present += 1
            if not isinstance(value, SecretStr) or self.canary not in value.get_secret_value():
                self.fail("secrets", f"secret field {name!r} from settings_for does not contain the canary")
        if not present:
            self.fail("secrets", "settings_for sets none of the secret fields " + ", ".join(names))

    def check_success(self, receiver: FakeReceiver) -> None:
        receiver.handler = self.case.success
        before = len(receiver.requests)
        receipt, exc, _ = self.attempt("success", receiver.url)
        if exc is not None:
            self.fail("success", f"deliver raised {type(exc).__name__} against a success answer")
        elif not isinstance(receipt, Receipt):
            self.fail("success", f"deliver returned {type(receipt).__name__}, expected Receipt")
        elif receipt.outcome not in ("delivered", "accepted"):
            self.fail("success", f"receipt outcome {receipt.outcome!r} is not delivered/accepted")
        if len(receiver.requests) == before:
            self.fail("success", "deliver sent no request to the configured base URL")

    def check_statuses(self, receiver: FakeReceiver) -> None:
        receiver.handler = self.scripted(429, {"Retry-After": "2"})
        failure, _ = self.expect_failure("429", receiver.url, FailureClass.RATE_LIMITED, receiver)
        if failure is not None and (failure.retry_after is None or abs(failure.retry_after - 2) > 0.5):
            self.fail("429", f"retry_after is {failure.retry_after!r}, expected about 2 (Retry-After: 2)")
        expected = {
            500: FailureClass.SERVER_ERROR,
            503: FailureClass.SERVER_ERROR,
            401: FailureClass.AUTH,
            400: FailureClass.CLIENT_ERROR,
        }
        for status, failure_class in expected.items():
            receiver.handler = self.scripted(status)
            self.expect_failure(str(status), receiver.url, failure_class, receiver)

    def check_timeout(self, receiver: FakeReceiver) -> None:
        timeout = self.case.timeout

        def slow(request: Request) -> Response:
            return replace(self.case.success(request), delay=3 * timeout)

        receiver.handler = slow
        _, elapsed = self.expect_failure("timeout", receiver.url, FailureClass.TIMEOUT, receiver)
        if elapsed > 2 * timeout + 0.1:
            self.fail(
                "timeout",
                f"deliver took {elapsed:.2f}s with timeout {timeout}s; pass request.timeout to the client",
            )

    def check_loop_not_blocked(self, receiver: FakeReceiver) -> None:
        """An async deliver must await its I/O: one that blocks its loop stalls every coroutine on it."""
        provider, success = self.case.provider, self.case.success
        settings = self.settings("loop", receiver.url)
        if not inspect.iscoroutinefunction(provider.deliver) or settings is None:
            return
        receiver.handler = lambda request: replace(success(request), delay=0.6)
        lag, output = asyncio.run(_loop_lag(provider.deliver(make_request(provider, settings, timeout=3.0))))
        self.outputs.append(("loop", output))
        if lag > 0.3:
            self.fail("loop", f"deliver blocked its event loop for {lag:.2f}s while the service answered in 0.6s; "
                      "await the I/O (an async client, or asyncio.to_thread around a sync one), never time.sleep "
                      "or a sync client inside async def")

    def check_connection(self) -> None:
        self.expect_failure("connection", f"http://127.0.0.1:{closed_port()}", FailureClass.CONNECTION)

    def check_leaks(self, logs: list[str]) -> None:
        for scenario, output in self.outputs:
            try:
                assert_no_secret_leak([self.canary], output)
            except AssertionError:
                is_exc = isinstance(output, BaseException)
                kind = f"exception {type(output).__name__}" if is_exc else "receipt"
                self.fail(scenario, f"the secret (canary) leaked in the {kind}")
        leaked = sorted({text.split(" ", 1)[0] for text in logs if self.canary in text})
        if leaked:
            self.fail("logs", "the secret (canary) leaked in log records of: " + ", ".join(leaked))

    def run(self) -> None:
        self.check_secrets_declared()
        with _capture_logs() as records:
            with FakeReceiver() as receiver:
                self.check_success(receiver)
                self.check_statuses(receiver)
                self.check_timeout(receiver)
                self.check_loop_not_blocked(receiver)
            self.check_connection()
        self.check_leaks(records.texts)
        if self.problems:
            lines = "\n".join(f"  - {problem}" for problem in self.problems)
            raise AssertionError(
                f"provider {self.name!r} failed {len(self.problems)} conformance check(s):\n{lines}"
            )


async def _loop_lag(deliver: Any) -> tuple[float, Any]:
    """Await ``deliver`` next to a 10 ms heartbeat; return the longest stall of the loop and the result."""
    loop, lag, done = asyncio.get_running_loop(), 0.0, False

    async def beat() -> None:
        nonlocal lag
        while not done:
            before = loop.time()
            await asyncio.sleep(0.01)
            lag = max(lag, loop.time() - before - 0.01)

    heartbeat = asyncio.create_task(beat())
    await asyncio.sleep(0)
    try:
        output = await deliver
    except Exception as exc:
        output = exc
    finally:
        done = True
        await heartbeat
    return lag, output


def check_conformance(case: ConformanceCase) -> None:
    """Run every conformance scenario for ``case``; raise ``AssertionError`` listing all problems.

    Needs nothing but loopback networking; takes roughly ``3 * case.timeout`` plus a few fast
    round trips. Usable from any test runner (no pytest fixtures or marks involved).
    """
    _Checker(case).run()
