"""Pydantic request and response models of the web API, one module per router."""
