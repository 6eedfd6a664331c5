"""Slack fixtures: the Web API stand-in and the real bot wired to it."""

from tests.support.slackbot import *  # noqa: F403
