import time, cProfile, pstats
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from leads.distribution.service import lead_assign
from leads.models import Lead
from tests.leads.distribution.conftest import make_team, territory

@pytest.mark.django_db(transaction=True)
def test_prof(now):
    team, reps = make_team("Inside Sales", *[f"a{i}" for i in range(10)])
    territory("Everywhere", team, catch_all=True)
    Lead.objects.bulk_create(Lead(email=f"race{i}@example.com", source="web_form") for i in range(500))
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as q:
        lead_assign(lead_id=ids[0], now=now)
    for x in q.captured_queries: print(x["time"], x["sql"][:150])
    t=time.monotonic()
    pr=cProfile.Profile(); pr.enable()
    for i in ids[1:]:
        lead_assign(lead_id=i, now=now)
    pr.disable()
    print("per lead ms", (time.monotonic()-t)/499*1000)
    pstats.Stats(pr).sort_stats("tottime").print_stats(40)
