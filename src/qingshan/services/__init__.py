"""Application services: the use cases between the adapters (CLI, gateway, web) and storage."""
