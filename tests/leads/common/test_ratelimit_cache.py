"""django-ratelimit counts in RateLimitCache on Redis (leads.common.ratelimit_cache): one command per
counted request, the same counts as django-redis's add-then-incr, atomic under concurrency."""

import threading
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import RequestFactory
from django_ratelimit.core import get_usage, is_ratelimited

from leads.common.ratelimit_cache import RateLimitCache

pytestmark = pytest.mark.skipif("ratelimit" not in settings.CACHES, reason="the rate limits' cache is Redis's")


def _request(ip="203.0.113.9"):
    return RequestFactory().post("/f/x", REMOTE_ADDR=ip)


def _commands() -> dict[str, int]:
    stats = caches["ratelimit"].client.get_client(write=True).info("commandstats")
    return {name: values["calls"] for name, values in stats.items()}


def test_the_rate_limits_count_in_it():
    assert settings.RATELIMIT_USE_CACHE == "ratelimit"
    assert isinstance(caches["ratelimit"], RateLimitCache)


def test_a_window_counts_each_request_once_and_limits_past_the_rate():
    group = f"test:{uuid.uuid4()}"
    is_ratelimited(_request(), group=f"{group}:warm-up", key="ip", rate="3/m", increment=True)  # SCRIPT LOAD
    before = _commands()
    answers = [is_ratelimited(_request(), group=group, key="ip", rate="3/m", increment=True) for _ in range(5)]
    after = _commands()
    assert answers == [False, False, False, True, True]
    usage = get_usage(_request(), group=group, key="ip", rate="3/m", increment=False)
    assert usage["count"] == 5 and usage["should_limit"]
    # One script call per counted request; django-redis's incr (EVAL of its own script) never ran.
    assert after.get("cmdstat_evalsha", 0) - before.get("cmdstat_evalsha", 0) == 5
    assert after.get("cmdstat_eval", 0) == before.get("cmdstat_eval", 0)


def test_another_address_has_its_own_count():
    group = f"test:{uuid.uuid4()}"
    for _ in range(3):
        is_ratelimited(_request("203.0.113.1"), group=group, key="ip", rate="3/m", increment=True)
    assert is_ratelimited(_request("203.0.113.1"), group=group, key="ip", rate="3/m", increment=True)
    assert not is_ratelimited(_request("203.0.113.2"), group=group, key="ip", rate="3/m", increment=True)


def test_a_peek_does_not_count():
    group = f"test:{uuid.uuid4()}"
    for _ in range(3):
        assert get_usage(_request(), group=group, key="ip", rate="2/m", increment=False)["count"] == 0
    assert not is_ratelimited(_request(), group=group, key="ip", rate="2/m", increment=True)
    assert get_usage(_request(), group=group, key="ip", rate="2/m", increment=False)["count"] == 1


def test_the_counter_expires_with_its_window():
    cache = caches["ratelimit"]
    key = f"test:{uuid.uuid4()}"
    assert cache.add(key, 1, 65) is True
    assert cache.add(key, 1, 65) is False
    assert cache.incr(key) == 2
    assert 0 < cache.ttl(key) <= 65
    assert cache.get(key) == 2


def test_an_incr_of_another_key_is_a_real_one():
    cache = caches["ratelimit"]
    first, second = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"
    cache.set(second, 10, 60)
    assert cache.add(first, 1, 60) is True
    assert cache.add(first, 1, 60) is False  # counted: first holds 2
    assert cache.incr(second) == 11  # not first's count
    assert cache.get(first) == 2


def test_concurrent_requests_are_each_counted_once():
    group = f"test:{uuid.uuid4()}"
    per_thread, threads = 40, 4
    limited = []

    def post():
        for _ in range(per_thread):
            limited.append(is_ratelimited(_request(), group=group, key="ip", rate="100/m", increment=True))

    workers = [threading.Thread(target=post) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert get_usage(_request(), group=group, key="ip", rate="100/m", increment=False)["count"] == 160
    assert limited.count(True) == 60


def test_an_unreachable_redis_fails_as_django_redis_does():
    from django_redis.cache import RedisCache
    from redis.exceptions import ConnectionError as RedisConnectionError

    params = {"OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}}
    ours, theirs = RateLimitCache("redis://127.0.0.1:1/0", params), RedisCache("redis://127.0.0.1:1/0", params)
    for cache in (ours, theirs):
        with pytest.raises(RedisConnectionError):
            cache.add("k", 1, 60)
