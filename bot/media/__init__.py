"""Media in Herald's application layer: the media store's wiring and its signed-link route."""
