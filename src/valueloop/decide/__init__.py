"""Decisions: rules and planners turn alarms, predictions and forecasts into work orders."""
