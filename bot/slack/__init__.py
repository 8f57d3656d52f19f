"""Slack surface: listeners, Block Kit builders, the notifier and its delivery."""
