"""Reliability tests: several desks at once, crashes, faults, backup/restore, hostile input."""
