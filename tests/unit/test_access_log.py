"""The buffered access log writes whole lines in logging's format, within FLUSH_SECONDS or at flush(), with the
values of secret query parameters masked."""
from __future__ import annotations

import asyncio
import logging
import re
from types import SimpleNamespace

from nodecompute.api import access_log

LINE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO aiohttp\.access: 127\.0\.0\.1 '
                  r'"GET /compute/v2\.1/flavors\?limit=1 HTTP/1\.1" 200 42 0\.001500s$')


def _request():
    return SimpleNamespace(remote="127.0.0.1", method="GET", path_qs="/compute/v2.1/flavors?limit=1",
                           version=SimpleNamespace(major=1, minor=1))


async def test_lines_are_buffered_then_written_whole(capfd):
    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.INFO)
    writer = access_log.AccessLogger(logger, "")
    assert writer.enabled
    for _ in range(3):
        writer.log(_request(), SimpleNamespace(status=200, body_length=42), 0.0015)
    assert capfd.readouterr().err == ""  # nothing yet: one write later
    await asyncio.sleep(access_log.FLUSH_SECONDS + 0.1)
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 3 and all(LINE.match(line) for line in lines), lines
    writer.log(_request(), SimpleNamespace(status=200, body_length=42), 0.0015)
    access_log.flush()  # at shutdown
    assert LINE.match(capfd.readouterr().err.rstrip("\n"))


async def test_a_full_buffer_is_written_at_once(capfd):
    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.INFO)
    writer = access_log.AccessLogger(logger, "")
    for _ in range(access_log.MAX_PENDING):
        writer.log(_request(), SimpleNamespace(status=200, body_length=42), 0.0015)
    assert len(capfd.readouterr().err.splitlines()) == access_log.MAX_PENDING
    access_log.flush()


async def test_secret_query_values_are_masked_keys_kept(capfd):
    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.INFO)
    request = SimpleNamespace(remote="127.0.0.1", method="GET", version=SimpleNamespace(major=1, minor=1),
                              path_qs="/compute/v2.1/servers?token=tok1&limit=2&X-Auth-Token=tok2&sort_key=name"
                                      "&Password=pw%3D1&api_key=k1&auth=a1&credential_id=c1&SECRET=s1&name=web")
    access_log.AccessLogger(logger, "").log(request, SimpleNamespace(status=200, body_length=42), 0.0015)
    access_log.flush()
    line = capfd.readouterr().err
    assert ('"GET /compute/v2.1/servers?token=***&limit=2&X-Auth-Token=***&sort_key=name&Password=***&api_key=***'
            '&auth=***&credential_id=***&SECRET=***&name=web HTTP/1.1" 200 42') in line, line
    assert not any(secret in line for secret in ("tok1", "tok2", "pw", "k1", "a1", "c1", "s1")), line


def test_redact_leaves_other_queries_alone():
    assert access_log.redact("/compute/v2.1/flavors/detail") == "/compute/v2.1/flavors/detail"
    assert access_log.redact("/image/v2/images?limit=1&marker=x&key_name=k&tok") == \
        "/image/v2/images?limit=1&marker=x&key_name=k&tok"
    assert access_log.redact("/x?%74oken=abc&os_password=p&secret_key=") == \
        "/x?%74oken=***&os_password=***&secret_key=***"


def test_a_query_inside_a_value_is_found_however_its_mark_is_written():
    """The value's own query is looked for only where a `?` can come out of unquoting: `?`, `%3F` or `%3f`."""
    assert access_log.redact("/vnc_lite.html?path=%3Ftoken%3Dt1&p2=%3ftoken%3dt2&p3=a?token=t3&p4=%253Fx") == \
        "/vnc_lite.html?path=***&p2=***&p3=***&p4=%253Fx"
    for _ in range(2):  # the secret names are kept per name: the same answer the second time
        assert access_log.redact("/x?Token=a&name=b") == "/x?Token=***&name=b"
