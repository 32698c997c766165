"""The errors a service raises for its callers to turn into an answer.

Every message is meant for the user. The web app maps :class:`NotFound` to 404,
:class:`Conflict` to 409 and any other :class:`ServiceError` to 422; the CLI prints the message
and exits non-zero.
"""

from __future__ import annotations


class ServiceError(ValueError):
    """A request the service cannot carry out as asked."""


class NotFound(ServiceError):
    """No such thing, or not one the principal may see (the same answer, so nobody can probe
    for what another enterprise has)."""


class Conflict(ServiceError):
    """The request contradicts what is stored (e.g. an MN already in use)."""
