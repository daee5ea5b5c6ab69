"""Model card fixtures: the fraud team's test/prod accounts and the central account, eager tasks,
a registry version to document, and a helper that writes a card through the real service."""
import uuid

import pytest

from portal.permissions import SYSTEM

CENTRAL = "222222222203"


@pytest.fixture
def cards_world(world, aws_endpoint, django_capture_on_commit_callbacks):
    from portal import services as portal_services
    for env, suffix in (("test", "2"), ("prod", "3")):
        portal_services.account_link(actor=SYSTEM, account_id=f"33333333331{suffix}", name=f"fraud-detection-{env}",
                                     environment=env, team=world.team)
    portal_services.account_link(actor=SYSTEM, account_id=CENTRAL, name="shared-services", environment="shared",
                                 team=None)
    world.engine = aws_endpoint.engine
    world.commits = django_capture_on_commit_callbacks   # with world.commits(execute=True): run on_commit tasks
    return world


@pytest.fixture
def eager(settings):
    from portal.celery import app
    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def model_version(world):
    """A registry version of the fraud team (rows only: the card app reads, never writes, them)."""
    from governance.models import ModelGroup, ModelVersion
    name = f"fraud-xgb-{uuid.uuid4().hex[:6]}"
    group = ModelGroup.objects.create(team=world.team, account=world.account, name=name,
                                      arn=f"arn:aws:sagemaker:us-east-1:333333333311:model-package-group/{name}")
    return ModelVersion.objects.create(group=group, team=world.team, version=3, description="Gradient boosting",
                                       arn=f"arn:aws:sagemaker:us-east-1:333333333311:model-package/{name}/3",
                                       metrics={"auc": "0.91", "f1": "0.80", "note": "n/a"})


def unique_name(prefix: str = "card") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def content(model_name: str = "Fraud scorer", risk: str = "Medium") -> dict:
    return {"model_overview": {"model_name": model_name, "model_owner": "Fraud team"},
            "intended_uses": {"purpose_of_model": "Score card payments", "risk_rating": risk}}


def make_card(world, *, actor="ds", name=None, body=None, model_version=None):
    from governance.cards import services
    return services.model_card_create(actor=world[actor], team=world.team, name=name or unique_name(),
                                      content=body or content(), model_version=model_version)
