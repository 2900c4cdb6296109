"""valueloop.analytics."""
