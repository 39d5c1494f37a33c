"""The themes room."""
