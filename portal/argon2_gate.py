"""A bound on concurrent Argon2id work in one process.

Each Argon2id run costs about 150 ms of CPU and 64 MiB of memory. Without a bound, a flood of
sign-in attempts (on made-up receipt codes, say) piles up threads that all derive at once: every
request slows down, memory runs out, and the reporter with the right passphrase waits behind
thousands of strangers. The gate lets a fixed number of runs proceed, lets a bounded number of
requests wait a short time for a slot, and refuses the rest at once with ``Argon2BusyError``, which
the web layer answers with 503 and Retry-After. Nobody is locked out: the next try may get in.

Services take the gate as an argument and hold a slot only around the derivation itself; this
module knows nothing of Flask, so services may import it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from portal.services.errors import ServiceError

# What a refused request is told to wait: a little longer than one queue wait, so that a retry
# usually finds the crowd gone.
MIN_RETRY_AFTER_SECONDS = 2


class Argon2BusyError(ServiceError):
    """No slot for Argon2id work freed in time; nothing was changed, the request may be retried."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("The site is busy.")
        self.retry_after_seconds = retry_after_seconds


class ClientGoneError(Argon2BusyError):
    """The client closed its connection while its request waited for a slot: the Argon2id work
    was not started (nobody would read the answer)."""


_log = logging.getLogger(__name__)


class _Ticket:
    __slots__ = ("granted",)

    def __init__(self) -> None:
        self.granted = False


class Argon2Gate:
    """At most ``slots`` Argon2id runs at once; at most ``max_waiting`` requests wait for one,
    each for at most ``wait_seconds``, and they are served first come, first served."""

    def __init__(self, slots: int, wait_seconds: float, max_waiting: int) -> None:
        if slots < 1 or max_waiting < 0 or wait_seconds < 0:
            raise ValueError("a gate needs at least one slot and no negative bounds")
        self.slots = slots
        self.wait_seconds = wait_seconds
        self.max_waiting = max_waiting
        self.retry_after_seconds = max(MIN_RETRY_AFTER_SECONDS, math.ceil(2 * wait_seconds))
        self._condition = threading.Condition()
        self._free = slots
        self._queue: deque[_Ticket] = deque()

    def slot(self) -> AbstractContextManager[None]:
        """Hold one slot for the block; raise ``Argon2BusyError`` if none frees in time."""
        return self._slot(None)

    def for_client(self, connected: Callable[[], bool]) -> Argon2Gate:
        """This gate for one request: after waiting for a slot, ``connected()`` is asked whether
        the client is still there, and if not, ``ClientGoneError`` is raised instead of running
        Argon2id for nobody."""
        return _ClientGate(self, connected)

    @contextmanager
    def _slot(self, connected: Callable[[], bool] | None) -> Iterator[None]:
        waited = self._acquire()
        if waited and connected is not None and not connected():
            self._release()
            _log.warning("Argon2id not started: the client went away while it waited")
            raise ClientGoneError(self.retry_after_seconds)
        try:
            yield
        finally:
            self._release()

    def _acquire(self) -> bool:
        """Take a slot; True if the request had to wait for it."""
        with self._condition:
            # Nobody overtakes a waiting request: a reporter who got into the queue is served
            # in turn, however many new requests a flood keeps sending.
            if self._free > 0 and not self._queue:
                self._free -= 1
                return False
            if len(self._queue) >= self.max_waiting:
                # Beyond the cap nobody queues: threads never pile up behind the gate.
                raise Argon2BusyError(self.retry_after_seconds)
            ticket = _Ticket()
            self._queue.append(ticket)
            self._condition.notify_all()
            deadline = time.monotonic() + self.wait_seconds
            while not ticket.granted:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._queue.remove(ticket)
                    raise Argon2BusyError(self.retry_after_seconds)
                self._condition.wait(left)
            return True

    def _release(self) -> None:
        with self._condition:
            if self._queue:
                # The slot passes straight to the first waiter.
                self._queue.popleft().granted = True
            else:
                self._free += 1
            self._condition.notify_all()

    @property
    def saturated(self) -> bool:
        """Whether a request asking now would be refused at once: every slot is taken and the
        queue is full. A view may then refuse before doing any other work for the request (a
        flood's refusals must cost next to nothing); by the time it would have asked, a slot may
        have freed, so this only ever refuses what the gate would very likely have refused."""
        with self._condition:
            return self._free == 0 and len(self._queue) >= self.max_waiting

    @property
    def waiting(self) -> int:
        """How many requests wait for a slot now."""
        with self._condition:
            return len(self._queue)

    def wait_until_waiting(self, count: int, timeout: float) -> bool:
        """Block until ``count`` requests wait for a slot (for tests and benchmarks that need to
        know a request is queued, without sleeping); False if that did not happen in time."""
        with self._condition:
            return self._condition.wait_for(lambda: len(self._queue) >= count, timeout)


class _ClientGate(Argon2Gate):
    """A shared gate seen by one request whose client may go away (``Argon2Gate.for_client``)."""

    def __init__(self, shared: Argon2Gate, connected: Callable[[], bool]) -> None:
        self.slots = shared.slots
        self.wait_seconds = shared.wait_seconds
        self.max_waiting = shared.max_waiting
        self.retry_after_seconds = shared.retry_after_seconds
        self._shared = shared
        self._connected = connected

    def slot(self) -> AbstractContextManager[None]:
        return self._shared._slot(self._connected)  # the same class's state

    @property
    def saturated(self) -> bool:
        return self._shared.saturated

    def for_client(self, connected: Callable[[], bool]) -> Argon2Gate:
        return _ClientGate(self._shared, connected)

    @property
    def waiting(self) -> int:
        return self._shared.waiting

    def wait_until_waiting(self, count: int, timeout: float) -> bool:
        return self._shared.wait_until_waiting(count, timeout)


class _Ungated(Argon2Gate):
    """No bound: for the command line and for services called outside a request."""

    def __init__(self) -> None:
        super().__init__(slots=1, wait_seconds=0, max_waiting=0)

    def slot(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def for_client(self, connected: Callable[[], bool]) -> Argon2Gate:
        return self


UNGATED: Argon2Gate = _Ungated()
