"""The embed room."""
