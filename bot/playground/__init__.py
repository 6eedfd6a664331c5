"""The playground: a local Slack emulator and sandbox clouds around the real bot, on loopback.

`cspm-bot playground` (and `make run` without Slack settings) starts them; the test suite uses
the same stand-ins.
"""
