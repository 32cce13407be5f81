"""Clients shipped with Continuum.

``TcpClient`` speaks the Continuum TCP protocol (docs/protocol.md): many streamed chat
requests multiplexed on one connection, with flow control and cancellation.
"""

from continuum.client.errors import ClientError, ConnectionClosed, GoingAway, ServerError
from continuum.client.stream import TcpStream
from continuum.client.tcp import TcpClient

__all__ = ["ClientError", "ConnectionClosed", "GoingAway", "ServerError", "TcpClient", "TcpStream"]
