"""valueloop.console."""
