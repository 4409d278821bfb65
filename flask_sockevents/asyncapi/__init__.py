"""An AsyncAPI 3.0 document generated from the routing table, and the views serving it.

See :func:`asyncapi_document` (what the document holds, :mod:`.document`) and
:class:`AsyncAPI` (where it is served, :mod:`.views`)::

    from flask_sockevents.asyncapi import AsyncAPI

    AsyncAPI(sockevents)     # /sockevents/asyncapi.json and the page /sockevents/asyncapi
"""

from .document import ASYNCAPI_VERSION, asyncapi_document
from .views import AsyncAPI

__all__ = ["ASYNCAPI_VERSION", "AsyncAPI", "asyncapi_document"]
