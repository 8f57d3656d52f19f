"""Herald's application layer: the Slack bot, the command line and the composition root."""
