"""Passes over the IR: functions from IR to IR (or to a report), run in a fixed order."""
