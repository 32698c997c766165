"""Routers of the versioned JSON API (``/api/v1/``)."""
