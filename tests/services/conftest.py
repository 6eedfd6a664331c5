"""Service tests drive the real front ends too (the Slack bot, the CLI, the scheduler)."""

from tests.support.slackbot import *  # noqa: F403
