"""Adapters the engine drives (HTTP publisher, litellm, APScheduler); never imported by the core."""
