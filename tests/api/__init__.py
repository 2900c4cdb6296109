"""Tests of valueloop.api."""
