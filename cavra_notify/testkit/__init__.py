"""Test kit for provider plugin authors: a loopback fake receiver, request builder, leak check."""

from .conformance import ConformanceCase, check_conformance
from .proxy import FakeProxy, Proxied
from .receiver import (
    LOOPBACK,
    FakeReceiver,
    FakeService,
    Request,
    Response,
    add_listen_arguments,
    closed_port,
    fake_receiver,
)
from .requests import SAMPLE_MESSAGE, assert_no_secret_leak, deliver_once, make_request

__all__ = [
    "LOOPBACK",
    "Proxied",
    "SAMPLE_MESSAGE",
    "ConformanceCase",
    "FakeProxy",
    "FakeReceiver",
    "FakeService",
    "Request",
    "Response",
    "add_listen_arguments",
    "assert_no_secret_leak",
    "check_conformance",
    "closed_port",
    "deliver_once",
    "fake_receiver",
    "make_request",
]
