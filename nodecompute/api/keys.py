"""Every typed key stored on the aiohttp application or request."""
from __future__ import annotations

from aiohttp import web

from nodecompute.compute.models import AuthContext
from nodecompute.caching import VersionedCache
from nodecompute.config import Config
from nodecompute.identity.service import IdentityService

config_key = web.AppKey("config", Config)
identity_key = web.AppKey("identity", IdentityService)
# name -> service object ("flavors", "keypairs", "quotas", "servers", "images", ...)
services_key = web.AppKey("services", dict)
# rendered bodies of hot lists (the flavor lists), kept until the database changes
response_cache_key = web.AppKey("response_cache", VersionedCache)

request_id_key = web.RequestKey("request_id", str)
context_key = web.RequestKey("context", AuthContext)
api_version_key = web.RequestKey("api_version", tuple)  # (2, 1) on /v2.1; (2, 0) on legacy /v2
