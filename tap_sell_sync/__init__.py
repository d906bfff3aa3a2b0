# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Singer tap for Zendesk Sell through the Sync API."""
