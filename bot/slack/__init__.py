"""The Slack front end: the Bolt app factory, permissions, the command parser, read-only
queries for the builders, origins/replies and live scan-progress messages.

Nothing outside `bot.slack`, `bot.serve` and `handlers` imports `slack_bolt` or `slack_sdk`.
"""
