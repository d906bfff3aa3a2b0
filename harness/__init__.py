# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The convergence harness: seeded faults and crashes thrown at the whole pipeline.

Each schedule runs the emulator with a seeded fault plan and runs ``tap-sell-sync`` piped into
a real Singer target again and again (the target's last STATE passed to the next run, as
Meltano does) until nothing is left to send, then checks the target against the emulator.
"""
