"""The cache django-ratelimit counts in, on Redis: one round trip per counted request instead of two.

django-ratelimit counts a request with `cache.add(key, 1, period)` and, when the key was already
there (every request of a window but the first), `cache.incr(key)`: two commands, each through
django-redis and redis-py's per-command machinery. On the public web form that was 16 % of the
workers' CPU per capture (bench/README.md, issue 22 §2).

`RateLimitCache.add(key, 1, period)` runs one Lua script that either starts the window's counter
(`SET NX EX`: answered True, as Redis's add) or counts this request (`INCR`: answered False, the
count kept on the instance), and the `incr(key)` that django-ratelimit sends right after takes that
count without a round trip. The count is the one the two commands would have given, and atomic.

So `add(key, 1)` on an existing key counts: this backend is only the rate limits' cache
(`RATELIMIT_USE_CACHE = "ratelimit"`, settings.py), never a general one. Everything else (a peek
with `add(key, 0)`, `get`, an `incr` of another key) is django-redis's own. A cache instance belongs
to one thread (django.core.cache.caches), so the kept count cannot reach another request.
"""

from __future__ import annotations

import socket

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django_redis.cache import RedisCache, omit_exception
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

# 0: the key was not there and now holds 1; otherwise the count after this request.
START_OR_COUNT = """
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then return 0 end
return redis.call('INCR', KEYS[1])
"""
# What django-redis's client turns into ConnectionInterrupted (omit_exception's cue).
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, ResponseError, socket.timeout)


class RateLimitCache(RedisCache):
    _counted: tuple | None = None

    @omit_exception
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, client=None):
        self._counted = None
        if value != 1 or type(value) is not int or type(timeout) is not int or timeout <= 0 or client is not None:
            return self.client.add(key, value, timeout=timeout, version=version, client=client)
        redis = self.client.get_client(write=True)
        script = getattr(self, "_script", None)
        if script is None or script.registered_client is not redis:
            script = self._script = redis.register_script(START_OR_COUNT)
        try:
            count = script(keys=[self.client.make_key(key, version=version)], args=[timeout])
        except REDIS_ERRORS as exc:
            raise ConnectionInterrupted(connection=redis) from exc
        if not count:
            return True
        self._counted = ((key, version), count)
        return False

    @omit_exception
    def incr(self, key, delta=1, version=None, client=None):
        counted, self._counted = self._counted, None
        if counted is not None and counted[0] == (key, version) and delta == 1 and client is None:
            return counted[1]
        return self.client.incr(key, delta=delta, version=version, client=client)
