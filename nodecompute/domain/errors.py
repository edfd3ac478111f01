"""Domain errors. Each carries an HTTP code and a message safe to show to the API user.

The fault *name* is not chosen here: api/faults.py maps codes to Nova fault names per dialect, so the vendor
dialects can be added without touching the places that raise.
"""
from __future__ import annotations


class ComputeError(Exception):
    code = 500
    msg_fmt = "An unknown error occurred."
    safe = True
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.message = message if message is not None else self.msg_fmt % kwargs if kwargs else self.msg_fmt
        super().__init__(self.message)


class BadRequest(ComputeError):
    code = 400
    msg_fmt = "Bad request."


class ValidationError(BadRequest):
    """Schema failure: message in Nova's 'Invalid input for field/attribute ...' form."""


class SecurityGroupNameNotFound(BadRequest):
    """A server create names a security group the project lacks (Nova's text; Helion words it its own way)."""

    msg_fmt = "Security group %(name)s not found for project %(project_id)s."


class MalformedBody(BadRequest):
    msg_fmt = "Malformed request body"


class Unauthorized(ComputeError):
    code = 401
    msg_fmt = "The request you have made requires authentication."


class Forbidden(ComputeError):
    code = 403
    msg_fmt = "Forbidden."


class PolicyNotAuthorized(Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


class QuotaExceeded(Forbidden):
    """Nova answers a compute quota breach with 403 (vendor dialects: 413)."""

    msg_fmt = "Quota exceeded for %(resource)s: Requested %(req)s, but already used %(used)s of %(allowed)s %(resource)s"


class NotFound(ComputeError):
    code = 404
    msg_fmt = "The resource could not be found."


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class MarkerNotFound(BadRequest):
    """A list's marker names nothing the caller could list (servers, flavors, images: Nova's and Glance's text)."""

    msg_fmt = "marker [%(marker)s] not found"


class MetadataItemNotFound(NotFound):
    msg_fmt = "Metadata item was not found"


class Conflict(ComputeError):
    code = 409
    msg_fmt = "There was a conflict when trying to complete your request."


class InstanceInvalidState(Conflict):
    msg_fmt = "Cannot '%(action)s' instance %(uuid)s while it is in %(attr)s %(state)s"


class NotAcceptable(ComputeError):
    code = 406


class TooLarge(ComputeError):
    code = 413
    msg_fmt = "Request is too large."


class UnsupportedMediaType(ComputeError):
    code = 415
    msg_fmt = "Unsupported Content-Type"


class NotImplementedYet(ComputeError):
    code = 501
    msg_fmt = "The requested functionality is not supported."


class InternalError(ComputeError):
    """An unexpected failure; the message is generic, details go to the log only."""

    code = 500
    msg_fmt = "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible."


class Gone(ComputeError):
    """An operation Nova removed (webob's HTTPGone and its explanation)."""

    code = 410
    msg_fmt = "This resource is no longer available.  No forwarding address is given."
