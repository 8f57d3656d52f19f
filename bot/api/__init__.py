"""Herald's HTTP API under /api/v1 on `herald serve`'s port (docs/api.md); `bot.api.app`
mounts it."""
