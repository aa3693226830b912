"""Test kit for provider plugin authors: a loopback fake receiver, request builder, leak check."""

from .receiver import FakeReceiver, Request, Response, closed_port, fake_receiver
from .requests import SAMPLE_MESSAGE, assert_no_secret_leak, deliver_once, make_request

__all__ = [
    "SAMPLE_MESSAGE",
    "FakeReceiver",
    "Request",
    "Response",
    "assert_no_secret_leak",
    "closed_port",
    "deliver_once",
    "fake_receiver",
    "make_request",
]
