"""Pure Block Kit builders: data in, Slack JSON out. No client, no I/O, easy to test."""
