"""Gunicorn settings for Candor: `gunicorn --config gunicorn.conf.py wsgi:app` (as `make run` does).

The site records no client address and no user agent: a log that holds them can name a reporter
to whoever reads the server's logs, seizes the machine or subpoenas its backups. So there is no
access log (even one asked for on the command line stays empty), and the error log goes through a
logger that removes IP addresses from every message and drops the request text that gunicorn
quotes when it refuses a malformed request ("Invalid request from ip=...: ...").

Forwarded-for headers (X-Forwarded-For, Forwarded) are neither trusted nor logged: the application
never reads them. Gunicorn believes the scheme header (X-Forwarded-Proto) only from a proxy on
this machine, so that a TLS-terminating proxy in front can mark requests as HTTPS.

Command-line flags override these settings, e.g. `--workers 4` once rate-limit counters live in
Redis (see ratelimit.storage_url in config.example.toml).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from typing import Any

from gunicorn.glogging import Logger

# `make run` sets CANDOR_BIND from its HOST and PORT.
bind = [os.environ.get("CANDOR_BIND", "127.0.0.1:8080")]
# One process: rate-limit counters kept in "memory://" are per process.
workers = 1
# Threads enough that a flood cannot take them all: at most security.argon2_concurrency threads
# run Argon2id and at most security.argon2_queue_max wait for a slot (one per CPU but one, and 8,
# by default: 9 on two CPUs); the rest serve pages, which wait on the database or the network far
# more than on the CPU. Raise it with those two settings. Argon2id releases the GIL.
threads = 32
# A request still running after this long (a stuck database, say) is ended and its worker
# restarted; nothing in the site legitimately takes longer (uploads stream in as they arrive).
timeout = 60
graceful_timeout = 30
# Keep-alive connections are held by the worker without a thread; short, so that idle browsers
# do not pile up.
keepalive = 5

accesslog = None
disable_redirect_access_to_syslog = True
errorlog = "-"
loglevel = "info"
forwarded_allow_ips = "127.0.0.1,::1"
proxy_protocol = False

REMOVED = "[address removed]"
_IPV4 = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9])")
# Anything that could be an IPv6 address (two colons or more, perhaps an IPv4 tail or a zone);
# ipaddress decides, so that a time such as 11:37:19 stays.
_IPV6_CANDIDATE = re.compile(r"[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[\w-]+)?")
# gunicorn quotes the refused request line or header after the reason, with %r.
_INVALID_REQUEST = re.compile(r"^Invalid request from ip=\S*: (?P<reason>.*)$", re.DOTALL)
_QUOTED_DETAIL = re.compile(r""":?\s*['"].*""", re.DOTALL)


def scrub(text: str) -> str:
    """``text`` without IP addresses, and without the quoted request of an invalid request."""
    found = _INVALID_REQUEST.match(text)
    if found:
        reason = _QUOTED_DETAIL.sub("", found["reason"]).strip() or "malformed request"
        text = f"Invalid request refused: {reason}"

    def ipv6(match: re.Match[str]) -> str:
        candidate = match.group(0)
        core = candidate.rstrip(".:")  # the end of a sentence, or "host:" before a port
        try:
            ipaddress.IPv6Address(core.split("%", 1)[0])
        except ValueError:
            return candidate
        return REMOVED + candidate[len(core) :]

    text = _IPV6_CANDIDATE.sub(ipv6, text)
    return _IPV4.sub(REMOVED, text)


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            # A formatter prints exc_text when it is set, instead of formatting the exception.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


_SCRUB = _ScrubFilter()


class AddressFreeLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type information
    """Gunicorn's logger without an access log and with addresses scrubbed from the error log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(_SCRUB)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        # An access line is an address, a time, a page and a user agent: the record not to keep.
        return None


logger_class = AddressFreeLogger
