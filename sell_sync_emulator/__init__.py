# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""A local emulator of the Zendesk Sell Sync API, for tests, demos and benchmarks."""

from sell_sync_emulator.config import DEFAULT_TOKEN, EmulatorConfig
from sell_sync_emulator.data import RESOURCE_TYPES, UNKNOWN_RESOURCE_TYPE, Key
from sell_sync_emulator.faults import FAULT_KINDS, Fault
from sell_sync_emulator.model import AckEvent, DeliveryEvent, Emulator, MutationResult
from sell_sync_emulator.server import RunningServer, serve, start_server

__all__ = [
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "RESOURCE_TYPES",
    "UNKNOWN_RESOURCE_TYPE",
    "AckEvent",
    "DeliveryEvent",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "Key",
    "MutationResult",
    "RunningServer",
    "serve",
    "start_server",
]
