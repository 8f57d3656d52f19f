"""Repository implementations: SQLAlchemy 2 async on SQLite or PostgreSQL, and in memory."""
