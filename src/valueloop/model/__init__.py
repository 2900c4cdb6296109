"""valueloop.model."""
