"""valueloop.store."""
