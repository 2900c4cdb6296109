"""valueloop.api."""
