"""Guards that ship with flask_sockevents: rate limits and authentication.

Each plugs in with one line (``RateLimiter(sockevents)``,
``RequireUser(sockevents)``) and vetoes by raising :class:`~flask_sockevents.Reject`.
"""

from flask_sockevents.guards.auth import RequireUser, authenticated_only, is_authenticated
from flask_sockevents.guards.ratelimit import RateLimiter

__all__ = ["RateLimiter", "RequireUser", "authenticated_only", "is_authenticated"]
