"""Small helpers shared by the tests."""

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll until the predicate holds (a worker or a server finished), or give up after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
