"""Exports of plans to other formats (pytest, Arazzo) and imports from Arazzo."""
