"""valueloop.act."""
