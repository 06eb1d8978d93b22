"""Errors of the Nova-like example service (examples/openstack).

They follow the pattern of Nova's ``nova.exception``: each class has a
message template, ``msg_fmt``, filled in from keyword arguments, an HTTP-like
``code``, and keeps its keyword arguments in ``self.kwargs``. oslo.messaging
sends ``kwargs`` with a failed call's error, so a client that allows this
module (``allowed_remote_exmods``) can rebuild the error with its arguments:
the Node consumer rebuilds ``InstanceNotFound`` as a local class.

The module has to be importable by name (it sits next to the service), since
oslo.messaging reports an error by its module and class name.
"""


class NovaLikeException(Exception):
    """Base class: ``msg_fmt % kwargs`` is the message unless one is given."""

    msg_fmt = 'An unknown exception occurred.'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        self.kwargs.setdefault('code', self.code)
        if not message:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A missing argument must not hide the error itself.
                message = self.msg_fmt
        super().__init__(message)


class NotFound(NovaLikeException):
    msg_fmt = 'Resource could not be found.'
    code = 404


class InstanceNotFound(NotFound):
    msg_fmt = 'Instance %(instance_id)s could not be found.'
