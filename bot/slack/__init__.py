"""The Slack serving machinery: the Bolt app factory, the ack/work plumbing and the worker
process, value decoding, permissions and guards, origins and replies, the one error mapping,
read-only queries for the builders and live scan-progress messages.

The features themselves live in `handlers/`, which registers onto the app this package
builds (`bot.slackapp.create_app`); nothing here imports `handlers` (an import-linter
contract in pyproject.toml, checked by ``make lint``).
"""
