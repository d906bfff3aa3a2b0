# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The SDK's built-in tap tests, run against the emulator on loopback."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from sell_sync_emulator import Emulator, EmulatorConfig, start_server
from tap_sell_sync.tap import TapSellSync

# The built-in runner builds its tap when the class is made, so the emulator must be up then.
# Every run drains the queue again: un-acked items come back in each new session.
_EMULATOR = Emulator(EmulatorConfig(seed=11, objects=300, page_size=100, rate_limit_per_hour=0))
_SERVER = start_server(_EMULATOR)

TestTapSellSync = get_tap_test_class(
    tap_class=TapSellSync,
    config={
        "access_token": _EMULATOR.config.token,
        "api_url": _SERVER.url,
        "max_requests_per_second": 100,
    },
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=20),
)


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator():
    yield
    _SERVER.stop()
