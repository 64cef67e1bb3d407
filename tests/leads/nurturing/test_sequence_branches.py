"""A branch only jumps forward: on save (form and model) and when steps are reordered."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from leads.models.nurturing import BRANCH_TARGET_LATER, SequenceStep
from leads.nurturing.forms import BRANCH_TARGET_NEW_STEP
from leads.nurturing.step_editing import STEP_MOVE_BREAKS_BRANCH, sequence_step_move
from tests.factories import SequenceFactory, SequenceStepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def steps():
    """1. email, 2. branch → 4, 3. wait, 4. email."""
    sequence = SequenceFactory(name="Trial nurture")
    first = SequenceStepFactory(sequence=sequence, position=0, kind="email", subject="Hi", body="Hello")
    branch = SequenceStepFactory(sequence=sequence, position=1, kind="branch", branch_on="opened")
    wait = SequenceStepFactory(sequence=sequence, position=2, kind="wait", wait_days=2)
    last = SequenceStepFactory(sequence=sequence, position=3, kind="email", subject="Again", body="Hello")
    branch.branch_target = last
    branch.save()
    return first, branch, wait, last


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_new_branch_step_cannot_point_at_an_earlier_step(marketer, steps):
    """A new step (appended at the end) could be saved branching to step 1: a loop."""
    first = steps[0]
    response = _client(marketer).post(
        reverse("leads:sequence_step_create", args=[first.sequence_id]),
        {"kind": "branch", "branch_on": "opened", "branch_target": first.pk},
    )
    assert response.status_code == 400 and BRANCH_TARGET_NEW_STEP in response.content.decode()
    assert SequenceStep.objects.filter(sequence_id=first.sequence_id).count() == 4


def test_the_model_refuses_a_backward_branch_too(steps):
    """The admin and any other form go through the model's clean()."""
    first, branch, _wait, _last = steps
    branch.branch_target = first
    with pytest.raises(ValidationError) as caught:
        branch.full_clean()
    assert caught.value.message_dict == {"branch_target": [BRANCH_TARGET_LATER]}
    branch.branch_target = branch
    with pytest.raises(ValidationError):
        branch.full_clean()


def test_reordering_keeps_a_branch_that_still_points_forward(steps):
    first, branch, wait, last = steps
    sequence_step_move(step=wait, offset=-1)  # wait before the branch: the branch still jumps to "last"
    branch.refresh_from_db()
    assert branch.branch_target_id == last.pk and branch.position == 2


def test_reordering_that_would_turn_a_branch_backwards_is_refused_with_the_reason(marketer, steps):
    """Moving the target above its branch silently unset the branch, and the editor showed "→ end"."""
    first, branch, wait, last = steps
    sequence_step_move(step=last, offset=-1)  # 1 email, 2 branch → 3, 3 email, 4 wait: still forward
    with pytest.raises(ValidationError) as caught:
        sequence_step_move(step=last, offset=-1)  # the target would come before its branch
    assert caught.value.messages == [STEP_MOVE_BREAKS_BRANCH.format(branch=2, target=3)]
    branch.refresh_from_db()
    assert branch.branch_target_id == last.pk
    assert list(
        SequenceStep.objects.filter(sequence_id=first.sequence_id).values_list("pk", flat=True).order_by("position")
    ) == [
        first.pk,
        branch.pk,
        last.pk,
        wait.pk,
    ]
    url = reverse("leads:sequence_step_move", args=[first.sequence_id, last.pk])
    client = _client(marketer)
    page = client.post(url, {"direction": "up"}, HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert page.status_code == 200 and escape(STEP_MOVE_BREAKS_BRANCH.format(branch=2, target=3)) in body
    assert 'data-testid="step-error"' in body and "Opened an email of this sequence → step 3" in " ".join(body.split())
    assert client.post(url, {"direction": "up"}).status_code == 400  # without JS: the page with the reason


def test_moving_the_branch_past_its_target_is_refused(steps):
    _first, branch, wait, _last = steps
    sequence_step_move(step=branch, offset=1)  # after the wait: still before its target
    with pytest.raises(ValidationError):
        sequence_step_move(step=branch, offset=1)
