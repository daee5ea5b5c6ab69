"""The shipped demo, as `make run` builds it (``seed_demo --sync`` against a freshly booted
sandbox): model cards are imported, linked to the versions they describe, and every seeded
registry version has a registrant among the demo users, so separation of duties applies to it."""
import pytest


pytestmark = pytest.mark.django_db


def test_the_demo_has_model_cards_and_registrants(fresh_demo):
    from governance import conf
    from governance.cards import aws as cards_aws
    from governance.cards.models import ModelCard
    from governance.models import ModelVersion
    from portal.models import Membership

    in_sagemaker = {card["name"]: card["status"] for card in cards_aws.list_cards(conf.central_account_id())}
    assert in_sagemaker, "the sandbox boots with model cards in the central account"
    assert f"governance.cards: model cards synced ({len(in_sagemaker)} imported)" in fresh_demo.out, fresh_demo.out
    cards = {card.name: card for card in ModelCard.objects.select_related("team", "model_version")}
    assert {name: card.status for name, card in cards.items()} == in_sagemaker
    assert {"PendingReview", "Approved"} <= set(in_sagemaker.values())   # something to review, and a gate met
    for card in cards.values():
        assert card.model_version is not None and card.model_version.team == card.team, card.name
        assert card.versions.exclude(author_label="SageMaker").exists(), card.name

    seeded = ModelVersion.objects.filter(group__is_central=False).select_related("registered_by", "team")
    assert seeded.exists()
    members = set(Membership.objects.values_list("team_id", "user_id"))
    for version in seeded:
        assert version.registered_by is not None, f"{version} has no registrant ({version.created_by_arn})"
        assert (version.team_id, version.registered_by_id) in members, version
        assert version.created_by_arn.endswith("/" + version.registered_by.username)
