"""One router per API resource, mounted under ``/api``."""
