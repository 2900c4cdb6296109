"""valueloop.cli."""
