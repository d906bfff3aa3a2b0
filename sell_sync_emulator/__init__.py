"""A local emulator of the Zendesk Sell Sync API, for tests, demos and benchmarks."""
