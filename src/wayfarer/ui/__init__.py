"""The desktop app (PySide6): one view per panel over the trip's typed schema."""
