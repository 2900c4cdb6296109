"""Tests of valueloop.console."""
