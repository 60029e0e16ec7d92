"""Operator commands (`python -m ops ...`); not part of the deployed app."""
