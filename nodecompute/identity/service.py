"""Token issue, validation and revocation for the built-in minimal Keystone."""
from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from nodecompute.caching import VersionedCache
from nodecompute.domain.errors import BadRequest, Forbidden, NotFound, Unauthorized
from nodecompute.domain.models import AuthContext, Clock, Project
from nodecompute.config import Config
from nodecompute.db import identity as identity_db
from nodecompute.db.store import Store
from nodecompute.identity import accounts, lockout


# Validated tokens are remembered until the database changes (nodecompute.caching): a revoked token or a changed
# account is seen at once, whoever committed the change.
TOKEN_CACHE_SIZE = 4096


class AuthFailed(Unauthorized):
    msg_fmt = "The request you have made requires authentication."


class ForbiddenAction(Forbidden):
    """Keystone's policy refusal (a SecurityError: the message names only the action)."""

    msg_fmt = "You are not authorized to perform the requested action: %(action)s."


class IdentityService:
    def __init__(self, store: Store, cfg: Config, clock: Clock) -> None:
        self.store = store
        self.cfg = cfg
        self.clock = clock
        self._hasher = accounts.password_hasher(cfg)
        # The KDF is CPU-bound and memory-hard: keep it off the loop, bounded to the host's cores.
        self._kdf = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nc-kdf")
        self._validated: VersionedCache[AuthContext] = VersionedCache(TOKEN_CACHE_SIZE)

    def close(self) -> None:
        self._kdf.shutdown(wait=False, cancel_futures=True)

    def validate(self, token: str | None) -> AuthContext | None:
        """The context of a live token, else None: one primary-key lookup, remembered until the data changes."""
        if not token or len(token) > 512:
            return None
        digest = accounts.token_digest(token)
        ctx = self._validated.get(self.store.data_version(), digest)
        now = self.clock()
        if ctx is not None and ctx.expires_at > now:
            return ctx
        ctx = self.store.read(identity_db.token_context, digest, now)
        if ctx is not None:
            self._validated.put(digest, ctx)
        return ctx

    async def authenticate_password(self, user_ref: str, password: str, project_ref: str | None) -> tuple[str, AuthContext]:
        found = self.store.read(identity_db.find_user, user_ref)
        loop = asyncio.get_running_loop()
        if found is None:
            # Spend the same time as a real check so user names cannot be probed by timing.
            await loop.run_in_executor(self._kdf, self._hasher.hash, password)
            raise AuthFailed()
        user, password_hash = found
        guarded = lockout.applies(self.cfg, user)
        if guarded:
            self.store.read(lockout.check, self.cfg, user.id, self.clock())
        ok = await loop.run_in_executor(self._kdf, accounts.verify_password, self._hasher, password_hash, password)
        if not ok:
            if guarded:
                await self.store.write(lockout.record_failure, self.cfg, user.id, self.clock())
            raise AuthFailed()
        if not user.enabled:
            raise AuthFailed()
        if guarded:
            await self.store.write(lockout.record_success, self.cfg, user.id, self.clock())
        return await self._issue(user.id, user.name, project_ref or user.default_project_id, ("password",))

    async def authenticate_token(self, token: str, project_ref: str | None) -> tuple[str, AuthContext]:
        ctx = self.validate(token)
        if ctx is None:
            raise AuthFailed()
        if project_ref is None:
            project_ref = ctx.project_id
        return await self._issue(ctx.user_id, ctx.user_name, project_ref, ("token",), expires_at=ctx.expires_at)

    async def _issue(self, user_id: str, user_name: str, project_ref: str | None, methods: tuple[str, ...],
                     expires_at=None) -> tuple[str, AuthContext]:
        if project_ref is None:
            raise BadRequest("Expecting to find a project scope in the request.")
        project = self.store.read(identity_db.find_project, project_ref)
        if project is None or not project.enabled:
            raise AuthFailed()
        roles = self.store.read(identity_db.roles_for, user_id, project.id)
        if not roles:
            raise AuthFailed()
        now = self.clock()
        ctx = AuthContext(
            user_id=user_id, user_name=user_name, project_id=project.id, project_name=project.name, roles=roles,
            issued_at=now, expires_at=expires_at or now + timedelta(seconds=self.cfg.identity.token_ttl),
            audit_id=secrets.token_urlsafe(16)[:22], methods=methods,
        )
        token = accounts.new_token()
        await self.store.write(identity_db.insert_token, accounts.token_digest(token), ctx)
        return token, ctx

    def projects(self) -> list[Project]:
        return self.store.read(identity_db.list_projects)

    def project(self, ref: str) -> Project | None:
        return self.store.read(identity_db.find_project, ref)

    def subject(self, caller: AuthContext, token: str | None, action: str) -> AuthContext:
        """The token `token` stands for, for `caller` (Keystone's identity:validate_token and revoke_token rules:
        an admin, or the token's own user). As Keystone's enforcer, which reads the subject token for the rule's
        target: a token that does not exist is 404 for anyone, another user's token 403 for a caller who is not an
        admin."""
        found = self.validate(token) if token else None
        if found is None:
            raise NotFound("Could not find token.")
        if not caller.is_admin and caller.user_id != found.user_id:
            raise ForbiddenAction(action=action)
        return found

    async def revoke(self, caller: AuthContext, token: str) -> None:
        """Keystone's identity:revoke_token rule: an admin, or the token's own user."""
        self.subject(caller, token, "identity:revoke_token")
        await self.store.write(identity_db.delete_token, accounts.token_digest(token))  # the commit empties the cache

