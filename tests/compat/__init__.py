"""Flask-SocketIO 5.x documented behaviour, as a specification of the drop-in API."""
