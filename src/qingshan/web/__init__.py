"""The web application: JSON API under ``/api/v1/`` and the zh-CN pages.

``create_app(settings, session_factory)`` builds the ASGI app; ``qingshan serve`` runs it
beside the HJ 212 gateway (see :mod:`qingshan.gateway.runner`).
"""

from qingshan.web.app import create_app

__all__ = ["create_app"]
