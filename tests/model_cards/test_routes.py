"""Route x persona cases for model cards and lineage (see tests/support/routes.py)."""
import pytest
from rest_framework.test import APIClient

from tests.support.routes import RouteCase, run_case

GLOBAL = {"platform_admin", "approver", "executive", "auditor"}
TEAM = {"lead", "ds", "mle"}
EVERYONE = GLOBAL | TEAM | {"other_lead", "outsider"}
VIEWERS = GLOBAL | TEAM | {"other_lead"}          # other_lead sees the list (own team), not our card
HIDDEN = {"other_lead", "outsider"}
LINEAGE_ARN = "arn:aws:sagemaker:us-east-1:333333333311:artifact/abc"


def _card(w, status="Draft"):
    from governance.cards import services
    from governance.cards.models import ModelCard
    from tests.model_cards.conftest import content, unique_name
    card = services.model_card_create(actor=w["ds"], team=w.team, name=unique_name(), content=content())
    if status != "Draft":
        ModelCard.objects.filter(pk=card.pk).update(status=status)
    return card


def _saved_twice(w):
    from governance.cards import services
    from tests.model_cards.conftest import content
    card = _card(w)
    services.model_card_save(actor=w["ds"], card=card, content=content("v2"))
    return card


card_kw = lambda w: {"pk": _card(w).pk}  # noqa: E731
pending_kw = lambda status: (lambda w: {"pk": _card(w, status).pk})  # noqa: E731


def _share_kw(w):
    from governance.cards.models import ModelCardShare
    card = _card(w, "Approved")
    share, _ = ModelCardShare.objects.update_or_create(   # creating the card already planned its dev share
        card=card, account_id="333333333311",
        defaults={"environment": "dev", "permission": "editable", "status": "active", "share_arn": "arn:share",
                  "client_token": "t"})
    return {"pk": card.pk, "share_pk": share.pk}


def _export_kw(w):
    from governance.cards.models import ModelCardExport
    card = _card(w)
    export = ModelCardExport.objects.create(card=card, version=1, status="completed", job_name=f"job-{card.pk}",
                                            s3_uri="s3://bucket/key.pdf")
    return {"pk": card.pk, "export_pk": export.pk}


def _transition_kw(action, status):
    return lambda w: {"pk": _card(w, status).pk, "action": action}


CONTENT = {"model_overview__model_name": "Scorer", "intended_uses__risk_rating": "Low"}
CASES = [
    RouteCase("model_cards:card_list", VIEWERS),
    RouteCase("model_cards:card_create", TEAM | {"other_lead"}),
    RouteCase("model_cards:card_create", TEAM | {"other_lead"}, method="post",
              data=lambda w: {**CONTENT, "name": "route-card", "team": w.team.pk if True else None},
              success=(302, 200)),
    RouteCase("model_cards:card_sync", {"platform_admin"}, method="post"),
    RouteCase("model_cards:card_detail", GLOBAL | TEAM, kwargs=card_kw, not_found=HIDDEN),
    RouteCase("model_cards:card_edit", TEAM, kwargs=card_kw, not_found=HIDDEN),
    RouteCase("model_cards:card_edit", TEAM, method="post", kwargs=card_kw, not_found=HIDDEN, data=lambda w: CONTENT),
    RouteCase("model_cards:card_diff", GLOBAL | TEAM, kwargs=lambda w: {"pk": _saved_twice(w).pk}, not_found=HIDDEN),
    RouteCase("model_cards:card_pdf", GLOBAL | TEAM, kwargs=card_kw, not_found=HIDDEN, success=(200, 302)),
    RouteCase("model_cards:card_export", GLOBAL | TEAM, method="post", kwargs=card_kw, not_found=HIDDEN),
    RouteCase("model_cards:export_download", GLOBAL | TEAM, kwargs=_export_kw, not_found=HIDDEN),
    RouteCase("model_cards:share_revoke", {"platform_admin", "approver"}, method="post", kwargs=_share_kw,
              not_found=HIDDEN),
    RouteCase("model_cards:card_transition", TEAM, method="post", kwargs=_transition_kw("submit", "Draft"),
              not_found=HIDDEN),
    RouteCase("model_cards:card_transition", {"approver"}, method="post",
              kwargs=_transition_kw("approve", "PendingReview"), not_found=HIDDEN),
    RouteCase("model_cards:card_transition", {"approver", "lead"}, method="post",
              kwargs=_transition_kw("archive", "Draft"), not_found=HIDDEN),
    RouteCase("model_cards:lineage", VIEWERS),
    RouteCase("model_cards:lineage", GLOBAL | TEAM, data=lambda w: {"arn": LINEAGE_ARN}, not_found={"other_lead"}),
    # API
    RouteCase("model-card-list", VIEWERS, api=True),
    RouteCase("model-card-list", TEAM, api=True, method="post", success=(201,), not_found={"other_lead"},
              data=lambda w: {**CONTENT, "name": "api-route-card", "team": w.team.slug}),
    RouteCase("model-card-detail", GLOBAL | TEAM, api=True, kwargs=card_kw, not_found=HIDDEN),
    RouteCase("model-card-detail", TEAM, api=True, method="patch", kwargs=card_kw, not_found=HIDDEN,
              data=lambda w: {"model_overview__model_name": "Renamed"}),
    RouteCase("model-card-submit", TEAM, api=True, method="post", kwargs=card_kw, not_found=HIDDEN),
    RouteCase("model-card-approve", {"approver"}, api=True, method="post", kwargs=pending_kw("PendingReview"),
              not_found=HIDDEN),
    RouteCase("model-card-send-back", {"approver"}, api=True, method="post", kwargs=pending_kw("PendingReview"),
              not_found=HIDDEN, data=lambda w: {"comment": "Add the risks"}),
    RouteCase("model-card-deny", {"approver"}, api=True, method="post", kwargs=pending_kw("PendingReview"),
              not_found=HIDDEN, data=lambda w: {"reason": "Add the risks"}),
    RouteCase("model-card-archive", {"approver", "lead"}, api=True, method="post", kwargs=card_kw, not_found=HIDDEN),
    RouteCase("model-card-versions", GLOBAL | TEAM, api=True, kwargs=card_kw, not_found=HIDDEN),
    RouteCase("model-card-diff", GLOBAL | TEAM, api=True, kwargs=lambda w: {"pk": _saved_twice(w).pk},
              not_found=HIDDEN),
    RouteCase("model-card-export", GLOBAL | TEAM, api=True, method="post", kwargs=card_kw, not_found=HIDDEN,
              success=(202,)),
    RouteCase("lineage-list", GLOBAL | TEAM, api=True, data=lambda w: {"arn": LINEAGE_ARN}, not_found={"other_lead"}),
]

PERSONAS = ["anonymous", *sorted(EVERYONE)]


@pytest.fixture
def fake_aws(monkeypatch, settings):
    from tests.model_cards import fakes
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return fakes.install(monkeypatch)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.label} {case.kwargs.__name__}")
def test_route_permissions(case, persona, world, fake_aws, monkeypatch):
    from governance.cards import tasks
    monkeypatch.setattr(tasks.export_run, "delay", lambda *a, **k: None)
    monkeypatch.setattr(tasks.share_apply, "delay", lambda *a, **k: None)
    run_case(case, world, persona, APIClient)
