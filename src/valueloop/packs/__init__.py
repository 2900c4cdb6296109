"""valueloop.packs."""
