"""The segment builder in headless Chromium (Debian's): a marketer adds conditions and a nested OR
group without code, the live count and preview follow every edit, and the segment saves."""

import pytest

from leads.models import Segment
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory, SegmentFactory, SegmentMemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_marketer_builds_a_segment_and_watches_the_count(page, live_server, marketer, shoot):
    LeadFactory(first_name="Hattie", score=90, tags=["vip"], status="nurturing")
    LeadFactory(first_name="Vera", score=20, tags=["vip"], status="new")
    LeadFactory(first_name="Colm", score=10, tags=[], status="new")
    log_in(page, live_server.url, "marketer")
    page.click("[data-testid=nav-nurture] > a")
    page.click("text=Segments and lists")
    page.click("text=New segment")
    page.fill("#id_name", "Warm VIPs")
    count = page.locator("[data-testid=preview-count]")
    count.wait_for()
    assert count.inner_text() == "3"  # no conditions yet: every lead
    # + Condition: "Status is one of" appears; make it "Score ≥ 50".
    page.click("button[value='add:r']")
    page.locator("#id_r\\.0-field").wait_for()
    assert page.evaluate("document.activeElement.id") == "id_r.0-field"  # the focus moves to the new row
    page.select_option("#id_r\\.0-field", "score")
    page.locator("#id_r\\.0-op option[value=gte]").wait_for(state="attached")
    page.select_option("#id_r\\.0-op", "gte")
    page.locator("#id_r\\.0-value[type=number]").wait_for()
    page.fill("#id_r\\.0-value", "50")
    page.wait_for_function("(document.querySelector('[data-testid=preview-count]') || {}).textContent === '1'")
    # Match any, and a nested group "tags contain vip".
    page.select_option("#id_r-match", "any")
    page.click("button[value='addgroup:r']")
    page.locator("#id_r\\.1\\.0-field").wait_for()
    page.select_option("#id_r\\.1\\.0-field", "tags")
    page.locator("input#id_r\\.1\\.0-value").wait_for()  # the redrawn row: a text input, no longer a select
    page.fill("input#id_r\\.1\\.0-value", "vip")
    page.wait_for_function("(document.querySelector('[data-testid=preview-count]') || {}).textContent === '2'")
    assert "Vera" in page.locator("[data-testid=segment-preview]").inner_text()
    shoot(page, "segment-builder")
    page.click("button[value=save]")
    page.wait_for_url("**/nurture/segments/*/")
    segment = Segment.objects.get(name="Warm VIPs")
    assert segment.definition == {
        "match": "any",
        "conditions": [
            {"field": "score", "op": "gte", "value": 50},
            {"match": "all", "conditions": [{"field": "tags", "op": "contains", "value": "vip"}]},
        ],
    }
    assert page.locator("[data-testid=segment-count]").inner_text() == "2"


def test_a_static_list_page_and_the_size_chart_render(page, live_server, marketer, shoot):
    from leads.nurturing.segments import segment_refresh

    ada = LeadFactory(first_name="Ada", email="ada@example.org", score=80)
    LeadFactory(first_name="Bo", email="bo@example.org", score=85)
    trade_show = SegmentFactory(name="Trade show", kind="static", size=1)
    SegmentMemberFactory(segment=trade_show, lead=ada)
    hot = SegmentFactory(
        name="Hot", definition={"match": "all", "conditions": [{"field": "score", "op": "gte", "value": 70}]}
    )
    segment_refresh(segment=hot)
    LeadFactory(score=90)
    segment_refresh(segment=hot)
    log_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}/nurture/segments/")
    assert page.locator("[data-testid=segment-table] tbody tr").count() == 2
    shoot(page, "segment-list")
    page.click("text=Trade show")
    page.fill("textarea[name=references]", "bo@example.org")
    page.click("[data-testid=list-add-form] button[type=submit]")
    assert "1 lead added." in page.locator("main").inner_text()
    assert page.locator("[data-testid=list-members] tbody tr").count() == 2
    shoot(page, "segment-static-list")
    page.goto(f"{live_server.url}/nurture/segments/{hot.pk}/stats")
    assert page.locator("[data-testid=size-chart] circle").count() == 2
    shoot(page, "segment-stats")
