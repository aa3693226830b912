"""Test kit for provider plugin authors: a loopback fake receiver and a conformance check."""

from .receiver import FakeReceiver, Request, Response, closed_port, fake_receiver

__all__ = ["FakeReceiver", "Request", "Response", "closed_port", "fake_receiver"]
