"""Custom exceptions for the interop suite.

This module is importable by the Python peers (it sits next to peer.py), so a
Python RPC client that lists ``interop_exc`` in ``allowed_remote_exmods`` can
rebuild these classes from a remote failure, and a TypeScript client that lists
the module (and registers a local class) can do the same.
"""


class InteropError(Exception):
    """A service error carrying keyword arguments, like NovaException."""

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        super().__init__(message or 'interop failed: %r' % (kwargs,))


class InteropConflict(InteropError):
    """A subclass, to check that the exact class is rebuilt."""
