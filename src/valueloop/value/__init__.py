"""valueloop.value."""
