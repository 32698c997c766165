"""Request and response models of the web API (pydantic), one module per router.

They describe the wire format only; the routers fill them from what the services return.
"""
