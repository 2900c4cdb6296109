"""Tests of valueloop.cli."""
