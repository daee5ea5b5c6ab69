"""Card services against the sandbox: SageMaker and the portal agree on every version."""
import json

import pytest
from django.core.exceptions import PermissionDenied

from governance.cards import aws, services
from governance.cards.models import CardStatus, ModelCard, ModelCardShare, ModelCardVersion, ShareStatus
from portal.errors import DomainError, InvalidTransition
from portal.models import AuditEvent
from portal.permissions import SYSTEM
from tests.model_cards.conftest import CENTRAL, content, make_card, unique_name

pytestmark = pytest.mark.django_db


def _remote_versions(card):
    return aws.list_card_versions(CENTRAL, name=card.name)


def test_create_mirrors_sagemaker_and_audits(cards_world, model_version):
    card = make_card(cards_world, model_version=model_version)
    remote = aws.describe_card(CENTRAL, name=card.name)
    assert remote["status"] == "Draft" and remote["version"] == card.current_version == 1
    assert remote["content"] == card.content == card.versions.get().content
    assert card.arn == remote["arn"] and card.model_version == model_version
    assert aws.card_tags(CENTRAL, arn=card.arn)["team"] == "fraud-detection"
    assert AuditEvent.objects.filter(action="model_card.create", target_id=str(card.pk)).exists()


def test_full_lifecycle_one_call_per_change(cards_world, eager):
    world = cards_world
    engine = world.engine
    card = make_card(world)
    start = len(engine.ledger)
    services.model_card_save(actor=world["ds"], card=card, content=content("Fraud scorer v2"))
    services.model_card_transition(actor=world["ds"], card=card, action="submit")
    services.model_card_transition(actor=world["approver"], card=card, action="send_back", comment="Add risks")
    services.model_card_save(actor=world["lead"], card=card, content=content("Fraud scorer v2", risk="High"))
    services.model_card_transition(actor=world["ds"], card=card, action="submit")
    with world.commits(execute=True):
        card = services.model_card_transition(actor=world["approver"], card=card, action="approve", comment="Good")
    updates = [e for e in engine.ledger[start:] if e["operation"] == "UpdateModelCard" and e["account"] == CENTRAL]
    assert len(updates) == 6   # content and status never in one call
    remote = _remote_versions(card)
    local = list(ModelCardVersion.objects.filter(card=card).order_by("version").values_list("version", "status"))
    assert [(r["version"], r["status"]) for r in remote] == local
    assert local[-1] == (7, "Approved") and card.status == CardStatus.APPROVED
    assert card.review_comment == "Good"
    assert aws.describe_card(CENTRAL, name=card.name)["content"]["intended_uses"]["risk_rating"] == "High"
    # approval shared the card: dev + test editable, prod read-only, through RAM
    shares = {s.environment: s for s in ModelCardShare.objects.filter(card=card)}
    assert set(shares) == {"dev", "test", "prod"}
    assert all(s.status == ShareStatus.ACTIVE and s.share_arn for s in shares.values())
    assert shares["prod"].permission == "read_only" and shares["dev"].permission == "editable"
    from portal.aws import client
    consumer = client("sagemaker", account_id="333333333313")
    assert consumer.describe_model_card(ModelCardName=card.arn)["ModelCardStatus"] == "Approved"


def test_illegal_transitions_change_nothing(cards_world):
    card = make_card(cards_world)
    for action, actor, status in (("approve", "approver", CardStatus.DRAFT), ("send_back", "approver", CardStatus.DRAFT),
                                  ("submit", "ds", CardStatus.PENDING_REVIEW), ("submit", "ds", CardStatus.ARCHIVED),
                                  ("approve", "approver", CardStatus.APPROVED)):
        ModelCard.objects.filter(pk=card.pk).update(status=status)
        card.refresh_from_db()
        with pytest.raises(InvalidTransition):
            services.model_card_transition(actor=cards_world[actor], card=card, action=action, comment="c")
    assert card.versions.count() == 1 and _remote_versions(card)[-1]["version"] == 1


def test_archived_is_read_only(cards_world):
    card = make_card(cards_world)
    services.model_card_transition(actor=cards_world["lead"], card=card, action="archive")
    with pytest.raises(InvalidTransition, match="read-only"):
        services.model_card_save(actor=cards_world["ds"], card=card, content=content("changed"))


def test_roles_are_enforced(cards_world):
    world = cards_world
    card = make_card(world)
    with pytest.raises(PermissionDenied):
        services.model_card_transition(actor=world["ds"], card=card, action="archive")   # lead or approver only
    services.model_card_transition(actor=world["ds"], card=card, action="submit")
    with pytest.raises(PermissionDenied):
        services.model_card_transition(actor=world["lead"], card=card, action="approve")
    with pytest.raises(PermissionDenied):
        services.model_card_create(actor=world["other_lead"], team=world.team, name=unique_name(), content=content())
    with pytest.raises(DomainError, match="comment is required"):
        services.model_card_transition(actor=world["approver"], card=card, action="send_back", comment=" ")


def test_aws_failure_records_nothing_and_says_why(cards_world):
    world = cards_world
    card = make_card(world)
    world.engine.faults.add({"service": "sagemaker", "operation": "UpdateModelCard", "kind": "error",
                             "code": "ResourceLimitExceeded", "message": "Too many versions", "count": 1})
    with pytest.raises(DomainError, match="Too many versions"):
        services.model_card_save(actor=world["ds"], card=card, content=content("new"))
    card.refresh_from_db()
    assert card.current_version == 1 and card.versions.count() == 1
    assert _remote_versions(card)[-1]["version"] == 1
    name = unique_name()
    world.engine.faults.add({"service": "sagemaker", "operation": "CreateModelCard", "kind": "error",
                             "code": "ResourceLimitExceeded", "message": "Card limit", "count": 1})
    with pytest.raises(DomainError, match="Card limit"):
        make_card(world, name=name)
    assert not ModelCard.objects.filter(name=name).exists()


def test_duplicate_name_is_a_conflict(cards_world):
    card = make_card(cards_world)
    with pytest.raises(DomainError, match="already exists"):
        make_card(cards_world, name=card.name)


def test_share_revoke_deletes_the_ram_share(cards_world, eager):
    world = cards_world
    card = make_card(world)
    services.model_card_transition(actor=world["ds"], card=card, action="submit")
    with world.commits(execute=True):
        services.model_card_transition(actor=world["approver"], card=card, action="approve")
    share = ModelCardShare.objects.get(card=card, environment="prod")
    services.model_card_share_revoke(actor=world["approver"], share=share)
    share.refresh_from_db()
    assert share.status == ShareStatus.REVOKED
    from portal.aws import client
    with pytest.raises(Exception):
        client("sagemaker", account_id="333333333313").describe_model_card(ModelCardName=card.arn)
    with pytest.raises(InvalidTransition):
        services.model_card_share_revoke(actor=world["approver"], share=share)


def test_share_failure_is_recorded_and_retry_is_idempotent(cards_world, eager):
    world = cards_world
    card = make_card(world)
    services.model_card_transition(actor=world["ds"], card=card, action="submit")
    world.engine.faults.add({"service": "ram", "operation": "CreateResourceShare", "kind": "error",
                             "code": "InvalidParameterException", "message": "bad principal", "count": 1})
    with world.commits(execute=True):
        services.model_card_transition(actor=world["approver"], card=card, action="approve")
    failed = ModelCardShare.objects.filter(card=card, status=ShareStatus.FAILED)
    assert failed.count() == 1 and "bad principal" in failed.get().last_error
    assert services.model_card_shares_apply(card_id=card.pk) == 0   # nothing pending: a no-op


def test_sync_imports_cards_made_in_sagemaker(cards_world):
    from portal.aws import client
    sagemaker = client("sagemaker", account_id=CENTRAL)
    name = unique_name("notebook")
    sagemaker.create_model_card(ModelCardName=name, Content=json.dumps(content("From a notebook")),
                                ModelCardStatus="Draft", Tags=[{"Key": "team", "Value": "fraud-detection"}])
    sagemaker.update_model_card(ModelCardName=name, ModelCardStatus="PendingReview")
    orphan = unique_name("orphan")
    sagemaker.create_model_card(ModelCardName=orphan, Content="{}", ModelCardStatus="Draft")
    first = services.model_cards_sync(actor=SYSTEM)
    card = ModelCard.objects.get(name=name)
    assert card.team == cards_world.team and card.status == "PendingReview" and card.current_version == 2
    assert list(card.versions.order_by("version").values_list("status", flat=True)) == ["Draft", "PendingReview"]
    assert not ModelCard.objects.filter(name=orphan).exists() and first["skipped"] >= 1
    sagemaker.update_model_card(ModelCardName=name, Content=json.dumps(content("Edited in notebook")))
    services.model_cards_sync(actor=SYSTEM)
    card.refresh_from_db()
    assert card.current_version == 3 and card.model_name == "Edited in notebook"
    again = services.model_cards_sync(actor=SYSTEM)
    assert again["versions"] == 0 and card.versions.count() == 3


def test_sagemaker_export_produces_a_downloadable_pdf(cards_world, eager):
    world = cards_world
    card = make_card(world, body=content("Export Model Name"))
    with world.commits(execute=True):
        export = services.model_card_export_request(actor=world["auditor"], card=card)
    export.refresh_from_db()
    assert export.status == "completed", export.last_error
    data = aws.download(CENTRAL, s3_uri=export.s3_uri)
    assert data.startswith(b"%PDF")


def test_approved_card_for_is_the_stage2_seam(cards_world, eager, model_version):
    from governance.cards.selectors import approved_card_for
    world = cards_world
    card = make_card(world, model_version=model_version)
    assert approved_card_for(model_version) is None
    services.model_card_transition(actor=world["ds"], card=card, action="submit")
    services.model_card_transition(actor=world["approver"], card=card, action="approve")
    assert approved_card_for(model_version) == card


def test_export_in_progress_is_polled_then_fails_visibly(cards_world):
    from governance.cards.models import ModelCardExport
    world = cards_world
    card = make_card(world)
    export = ModelCardExport.objects.create(card=card, version=1, job_name=unique_name("job"))
    world.engine.config.update({"export_seconds": 3600})
    try:
        assert services.model_card_export_advance(export_id=export.pk) == "in_progress"
        assert services.model_card_export_advance(export_id=export.pk) == "in_progress"   # a repeat starts nothing new
    finally:
        world.engine.config.update({"export_seconds": 0})
    export.refresh_from_db()
    assert export.job_arn.endswith(f"/export-job/{export.job_name}")
    services.model_card_export_give_up(export_id=export.pk, reason="SageMaker did not finish the export in time.")
    export.refresh_from_db()
    assert export.status == "failed" and "in time" in export.last_error


def test_a_card_is_shared_further_as_it_progresses_and_revoked_shares_stay_revoked(cards_world, eager):
    world = cards_world

    def shared():
        return {s.environment: s.status for s in ModelCardShare.objects.filter(card=card)}

    with world.commits(execute=True):
        card = make_card(world)
    assert shared() == {"dev": ShareStatus.ACTIVE}                      # the author works on it from dev
    services.model_card_share_revoke(actor=world["platform_admin"], share=ModelCardShare.objects.get(card=card))
    with world.commits(execute=True):
        services.model_card_transition(actor=world["ds"], card=card, action="submit")
    assert shared() == {"dev": ShareStatus.REVOKED, "test": ShareStatus.ACTIVE}   # testers review it from test
    with world.commits(execute=True):
        services.model_card_transition(actor=world["approver"], card=card, action="approve")
    assert shared() == {"dev": ShareStatus.REVOKED, "test": ShareStatus.ACTIVE, "prod": ShareStatus.ACTIVE}
    assert ModelCardShare.objects.get(card=card, environment="prod").permission == "read_only"
