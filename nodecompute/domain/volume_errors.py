"""Block storage errors with Cinder's texts (cinder/exception.py) and codes.

Cinder shows an Invalid or NotFound error's text as it is; a quota error leaves through its fault wrapper as
"<ExceptionName>: <text>" with 413 and `Retry-After: 0` (the fault body then carries `retryAfter`). The compute
proxies (os-volumes) turn these into Nova's answers themselves (api/os_volumes.py).
"""
from __future__ import annotations

from nodecompute.domain.errors import BadRequest, ComputeError, Conflict, NotFound


class InvalidInput(BadRequest):
    msg_fmt = "Invalid input received: %(reason)s"


class InvalidVolume(BadRequest):
    msg_fmt = "Invalid volume: %(reason)s"


class InvalidSnapshot(BadRequest):
    msg_fmt = "Invalid snapshot: %(reason)s"


class InvalidVolumeType(BadRequest):
    msg_fmt = "Invalid volume type: %(reason)s"


class ImageUnacceptable(BadRequest):
    msg_fmt = "Image %(image_id)s is unacceptable: %(reason)s"


class InvalidAvailabilityZone(BadRequest):
    msg_fmt = "Availability zone '%(az)s' is invalid."


class VolumeNotFound(NotFound):
    msg_fmt = "Volume %(volume_id)s could not be found."


class SnapshotNotFound(NotFound):
    msg_fmt = "Snapshot %(snapshot_id)s could not be found."


class VolumeTypeNotFound(NotFound):
    msg_fmt = "Volume type %(volume_type_id)s could not be found."


class VolumeTypeNotFoundByName(VolumeTypeNotFound):
    msg_fmt = "Volume type with name %(volume_type_name)s could not be found."


class VolumeMetadataNotFound(NotFound):
    msg_fmt = "Volume %(volume_id)s has no metadata with key %(metadata_key)s."


class ExtraSpecsNotFound(NotFound):
    msg_fmt = "Volume Type %(volume_type_id)s has no extra specs with key %(extra_specs_key)s."


class ImageNotFound(NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class VolumeTypeExists(Conflict):
    msg_fmt = "Volume Type %(id)s already exists."


class VolumeQuotaError(ComputeError):
    """Cinder's QuotaError: 413 overLimit with Retry-After: 0; the message names the exception, as its fault
    wrapper writes it."""

    code = 413
    headers = {"Retry-After": "0"}
    msg_fmt = "QuotaError: Quota exceeded: code=413"

    @property
    def cinder_text(self) -> str:
        """The text without the exception name (what Nova's proxy shows in its 403)."""
        return self.message.split(": ", 1)[1]


class VolumeLimitExceeded(VolumeQuotaError):
    msg_fmt = "VolumeLimitExceeded: Maximum number of volumes allowed (%(allowed)d) exceeded for quota '%(name)s'."


class SnapshotLimitExceeded(VolumeQuotaError):
    msg_fmt = "SnapshotLimitExceeded: Maximum number of snapshots allowed (%(allowed)d) exceeded"


class VolumeSizeExceedsAvailableQuota(VolumeQuotaError):
    msg_fmt = ("VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed %(name)s quota. "
               "Requested %(requested)sG, quota is %(quota)sG and %(consumed)sG has been consumed.")


class VolumeSizeExceedsLimit(VolumeQuotaError):
    msg_fmt = "VolumeSizeExceedsLimit: Requested volume size %(size)dG is larger than maximum allowed limit %(limit)dG."
