"""valueloop.ingest."""
