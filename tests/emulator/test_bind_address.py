# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Bind addresses: the emulator listens on every interface only when told so in plain words.

No test here binds anything but loopback: the bind itself is replaced by a trap, so a missing
check fails the test instead of opening a port on every interface.
"""

from __future__ import annotations

import pytest

import sell_sync_emulator.__main__ as command
from sell_sync_emulator import Emulator, EmulatorConfig, serve
from sell_sync_emulator.server import EmulatorHTTPServer, check_host

EMPTY_HOST = "the host is empty; name an address such as 127.0.0.1 (0.0.0.0 binds every interface)"


def _every_interface(host: str) -> str:
    return (
        f"the host {host!r} means every interface; write 0.0.0.0 (or ::) if that is meant,"
        " else name an address such as 127.0.0.1"
    )


@pytest.fixture
def no_binding(monkeypatch):
    """Make any attempt of the command or the server to bind a socket fail the test."""

    def refuse_to_start(_emulator, host, port):
        message = f"the command went on to bind {host!r}:{port}"
        raise AssertionError(message)

    def refuse_to_bind(server):
        message = f"the server went on to bind {server.server_address!r}"
        raise AssertionError(message)

    monkeypatch.setattr(command, "start_server", refuse_to_start)
    monkeypatch.setattr(EmulatorHTTPServer, "server_bind", refuse_to_bind)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("", EMPTY_HOST),
        (" ", EMPTY_HOST),
        ("\t", EMPTY_HOST),
        (
            "127.0.0.1 ",
            "the host '127.0.0.1 ' contains whitespace; name an address such as 127.0.0.1",
        ),
        ("0", _every_interface("0")),
        ("0.0", _every_interface("0.0")),
        ("0x0", _every_interface("0x0")),
        ("000.000.000.000", _every_interface("000.000.000.000")),
        ("::ffff:0.0.0.0", _every_interface("::ffff:0.0.0.0")),
    ],
)
@pytest.mark.usefixtures("no_binding")
def test_command_refuses_a_host_that_would_silently_bind_every_interface(capsys, host, message):
    with pytest.raises(SystemExit) as stopped:
        command.main(["--host", host, "--objects", "0"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"sell-sync-emulator: error: argument --host: {message}\n"


@pytest.mark.parametrize("host", ["", " ", "0", "0x0", "::ffff:0.0.0.0"])
@pytest.mark.usefixtures("no_binding")
def test_python_api_refuses_a_host_that_would_silently_bind_every_interface(host):
    emulator = Emulator(EmulatorConfig(objects=0))
    with pytest.raises(ValueError, match="the host"), serve(emulator, host=host):
        pass


# Only the check runs here: nothing is bound.
EXPLICIT_EVERY_INTERFACE = ["0.0.0.0", "::", "::0", "0:0:0:0:0:0:0:0"]  # noqa: S104


@pytest.mark.parametrize(
    "host", [*EXPLICIT_EVERY_INTERFACE, "127.0.0.1", "::1", "localhost", "127.1"]
)
def test_named_addresses_pass_the_check_unchanged(host):
    assert check_host(host) == host


def test_the_default_host_still_serves_on_loopback():
    with serve(Emulator(EmulatorConfig(objects=0))) as running:
        assert running.host == "127.0.0.1"
        assert running.url.startswith("http://127.0.0.1:")
