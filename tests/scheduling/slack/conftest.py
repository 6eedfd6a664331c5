"""The real Bolt app for `/cspm digest` (fixtures of tests.support.slackbot)."""

from tests.support.slackbot import *  # noqa: F403
