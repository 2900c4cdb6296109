"""valueloop.connectors."""
