"""The present room."""
