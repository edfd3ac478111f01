"""K5 image import/export answers: detail codes and messages as the K5 document's tables give them (doc §1.6.3).

A K5 error body is `{"error_code": "<code>", "message": "..."}` for import and `{"error_code": ..., "error_message":
...}` for export. A code is the HTTP status followed by a two-digit number, and the numbers belong to each API: 40001
is "name missing" for an import and "image_id missing" for an export. So there is one enum per API.

The import tables give no code for a bad *value* of `name`, `location`, `id` or `conversion`. Such a value answers
with that parameter's own code (the code the seed gives for it missing, for `location` the seed's only location
code) and K5's wording for a bad value, "Parameter '<name>' has invalid value." (the seed's own words for `os_type`
and, on export, for `image_id` and `storage_container`). Bad values of optional import parameters (`disk_format`,
`container_format`, `min_ram`, `min_disk`, `property-*`) answer with 40011, the first number the import table leaves
free. Import lists take export's 40013/40014 for a bad `start`/`limit`.
"""
from __future__ import annotations

from enum import Enum


class _Coded(Enum):
    """Members are (HTTP status, detail code, message); a message may have {placeholders}."""

    @property
    def status(self) -> int:
        return self.value[0]

    @property
    def code(self) -> str:
        return self.value[1]

    @property
    def message(self) -> str:
        return self.value[2]


class ImportCode(_Coded):
    NAME_MISSING = (400, "40001", "Required parameter 'name' is not specified.")
    NAME_INVALID = (400, "40001", "Parameter 'name' has invalid value.")
    LOCATION_MISSING = (400, "40002", "Required parameter 'location' is not specified.")
    LOCATION_INVALID = (400, "40002", "Parameter 'location' has invalid value.")
    OVF_LOCATION_INVALID = (400, "40002", "Parameter 'ovf_location' has invalid value.")
    ID_MISSING = (400, "40003", "Required parameter 'id' is not specified.")
    ID_INVALID = (400, "40003", "Parameter 'id' has invalid value.")
    CONVERSION_MISSING = (400, "40004", "Required parameter 'conversion' is not specified.")
    CONVERSION_INVALID = (400, "40004", "Parameter 'conversion' has invalid value.")
    OS_TYPE_MISSING = (400, "40005", "Required parameter 'os_type' is not specified.")
    OS_TYPE_INVALID = (400, "40006", "Parameter 'os_type' has invalid value.")
    USER_NAME_MISSING = (400, "40007", "Required parameter 'user_name' is not specified.")
    PASSWORD_MISSING = (400, "40008", "Required parameter 'password' is not specified.")
    DOMAIN_NAME_MISSING = (400, "40009", "Required parameter 'domain_name' is not specified.")
    CREDENTIALS_INVALID = (400, "40010", "Parameter 'user_name' or 'password' or 'domain_name' has invalid value.")
    PARAMETER_INVALID = (400, "40011", "Parameter '{name}' has invalid value.")
    START_INVALID = (400, "40013", "Query parameter 'start' has invalid value.")
    LIMIT_INVALID = (400, "40014", "Query parameter 'limit' has invalid value.")
    FORBIDDEN = (403, "40301", "You cannot execute this API.")
    NOT_FOUND = (404, "40401", "Invalid import_id.")
    INTERNAL = (500, "50001", "Internal server error.")
    INTERNAL_2 = (500, "50002", "Internal server error.")
    INTERNAL_3 = (500, "50003", "Internal server error.")
    TOO_MANY = (503, "50301", "Too many requests.")

    @property
    def body_key(self) -> str:
        return "message"


class ExportCode(_Coded):
    IMAGE_ID_MISSING = (400, "40001", "Required parameter 'image_id' is not specified.")
    IMAGE_ID_INVALID = (400, "40002", "Parameter 'image_id' has invalid value.")
    CONTAINER_MISSING = (400, "40003", "Required parameter 'storage_container' is not specified.")
    CONTAINER_INVALID = (400, "40004", "Parameter 'storage_container' has invalid value.")
    NO_PROJECT = (400, "40005", "Project id does not exist.")
    NO_BODY = (400, "40007", "Request body does not exist.")
    NOT_JSON = (400, "40008", "Request body is not a json format.")
    CANCEL_ACCEPTED = (400, "40010", "Export_id is already accepted cancelling.")
    TOO_LARGE = (400, "40011", "The size of the export image is too large.")
    GLANCE_ERROR = (400, "40012", "Glance access error. Parameter has invalid value.")
    START_INVALID = (400, "40013", "Query parameter 'start' has invalid value.")
    LIMIT_INVALID = (400, "40014", "Query parameter 'limit' has invalid value.")
    SAME_REQUEST = (400, "40015", "The same request already exists.")
    FILE_EXISTS = (400, "40016", "The exported file already exists.")
    UPLOAD_MISSING = (400, "40017", "The uploaded file by image id does not exist in the object storage.")
    FORBIDDEN = (403, "40301", "You cannot execute this API.")
    NOT_FOUND = (404, "40401", "Invalid export_id.")
    FINISHED = (404, "40402", "Export_id was already finished.")
    INTERNAL = (500, "50001", "Internal server error.")
    INTERNAL_2 = (500, "50002", "Internal server error.")
    INTERNAL_3 = (500, "50003", "Internal server error.")
    TOO_MANY = (503, "50301", "Too many requests.")

    @property
    def body_key(self) -> str:
        return "error_message"


class K5JobError(Exception):
    """An import/export request refused with a K5 detail code; `body()` is the K5 error document."""

    def __init__(self, code: ImportCode | ExportCode, **fields: object) -> None:
        self.code = code
        self.message = code.message.format(**fields) if fields else code.message
        super().__init__(f"{code.code} {self.message}")

    @property
    def status(self) -> int:
        return self.code.status

    def body(self) -> dict[str, str]:
        return {"error_code": self.code.code, self.code.body_key: self.message}


class ExportFailure:
    """An export job's `error_message` when it ends `failed`: the document's fixed list (inventory §3.11)."""

    NOT_FOUND = "Specified id is not found."
    NOT_VALID = "Specified id is not valid image."
    STOPPED = "Export process has stopped unexpectedly."
    CANCEL_STOPPED = "Cancel process has stopped unexpectedly."
    TOO_LONG = "Export process takes too long time."
    DOWNLOAD = "VMexport process is failed (fail to download image)"
    UPLOAD = "VMexport process is failed (fail to upload image)"


class ImportFailure:
    """An import job's `message` when it ends `failed`. The document lists none; these follow export's wording."""

    STOPPED = "Import process has stopped unexpectedly."
    NOT_AVAILABLE = "The VM image file at 'location' is not available."
    ID_IN_USE = "Image id '{image_id}' is already in use."
    CONVERSION = "VMimport process is failed (fail to convert image)"
    INTERNAL = "Internal server error."
