"""users_with_perm answers "who could do this?" exactly as has_perm answers it for each user."""
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from portal import services
from portal.permissions import SYSTEM, _POLICIES, has_perm, teams_for, users_with_perm

pytestmark = pytest.mark.django_db


def test_users_with_perm_agrees_with_has_perm_for_every_registered_rule(world):
    scoped = services.user_create(actor=SYSTEM, username="scoped-admin", email="scoped@example.com",
                                  password="pw-for-tests-123")
    services.role_grant(actor=SYSTEM, user=scoped, role="platform_admin", line_of_business="Risk")
    services.role_grant(actor=SYSTEM, user=world["approver"], role="model_approver", line_of_business="Risk")
    gone = world["other_lead"]
    gone.is_active = False
    gone.save()
    users = list(get_user_model().objects.filter(is_active=True))
    checked = 0
    for label, policy in _POLICIES.items():
        model = apps.get_model(label)
        for action in policy.rules:
            for team_id in ([None] if policy.team_path is None else [world.team.pk, world.other_team.pk]):
                # without a team: those who may do it everywhere (an unscoped global role)
                expected = {user.username for user in users if (
                    has_perm(user, action, model, team_id) if team_id else teams_for(user, model, action) is None)}
                got = set(users_with_perm(action, model, team_id).values_list("username", flat=True))
                assert got == expected, (label, action, team_id)
                checked += 1
    assert checked > 20
    assert "other-lead" not in users_with_perm("approve", apps.get_model("provisioning.provisioningrequest"),
                                               world.other_team.pk).values_list("username", flat=True)

