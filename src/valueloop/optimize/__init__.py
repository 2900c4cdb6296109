"""valueloop.optimize."""
