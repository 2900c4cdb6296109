"""Tests of valueloop.report."""
