"""The model card API against the sandbox: create (Idempotency-Key), transitions (409), versions,
diff, lineage; list query counts do not grow with rows."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.cards.models import ModelCard
from tests.model_cards.conftest import make_card, unique_name

pytestmark = pytest.mark.django_db
FORM = {"model_overview__model_name": "Fraud scorer", "intended_uses__risk_rating": "High",
        "training_metrics": "auc = 0.91\nf1 = 0.8", "evaluation_name": "holdout",
        "evaluation_metrics": "auc = 0.9"}


def _client(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def test_create_is_idempotent_and_mirrors_sagemaker(cards_world, api_client):
    client = _client(api_client, cards_world["ds"])
    body = {**FORM, "name": unique_name("api"), "team": "fraud-detection"}
    first = client.post("/api/v1/model-cards/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.json()
    again = client.post("/api/v1/model-cards/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert ModelCard.objects.filter(name=body["name"]).count() == 1
    content = first.json()["content"]
    assert content["intended_uses"]["risk_rating"] == "High"
    assert content["training_details"]["training_job_details"]["training_metrics"][0] == {"name": "auc", "value": 0.91}
    assert content["evaluation_details"][0]["name"] == "holdout"


def test_bad_input_says_what_to_fix(cards_world, api_client):
    client = _client(api_client, cards_world["ds"])
    response = client.post("/api/v1/model-cards/", {**FORM, "name": "bad name!", "team": "fraud-detection",
                                                    "intended_uses__risk_rating": "Extreme",
                                                    "training_metrics": "auc = high"}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) >= {"name", "intended_uses__risk_rating", "training_metrics"}
    assert "not a number" in fields["training_metrics"][0]


def test_a_body_that_is_not_an_object_is_a_400(cards_world, api_client):
    client = _client(api_client, cards_world["ds"])
    card = make_card(cards_world)
    for response in (client.post("/api/v1/model-cards/", ["not", "an", "object"], format="json"),
                     client.patch(f"/api/v1/model-cards/{card.pk}/", "just text", format="json")):
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"non_field_errors": ["Send a JSON object of the card's fields."]}


def test_transitions_versions_and_diff(cards_world, api_client):
    world = cards_world
    card = make_card(world)
    ds = _client(api_client, world["ds"])
    url = f"/api/v1/model-cards/{card.pk}/"
    assert ds.patch(url, {"intended_uses__risk_rating": "Low"}, format="json").status_code == 200
    assert ds.post(url + "submit/", {}, format="json").status_code == 200
    conflict = ds.post(url + "submit/", {}, format="json")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "invalid_transition"
    assert ds.patch(url, {"intended_uses__risk_rating": "High"}, format="json").status_code == 409
    approver = _client(api_client, world["approver"])
    assert approver.post(url + "send-back/", {}, format="json").status_code == 400   # comment required
    assert approver.post(url + "send-back/", {"comment": "Explain the rating"}, format="json").status_code == 200
    versions = approver.get(url + "versions/").json()
    assert [row["version"] for row in versions["results"]] == [4, 3, 2, 1]
    assert versions["results"][0]["status"] == "Draft" and versions["results"][0]["comment"] == "Explain the rating"
    diff = approver.get(url + "diff/", {"a": 1, "b": 2}).json()
    assert {"field": "intended uses › risk rating", "change": "changed", "before": "Medium", "after": "Low"} \
        in diff["changes"]
    assert approver.get(url + "diff/", {"a": 1, "b": 99}).status_code == 404


def test_list_query_count_does_not_grow(cards_world, api_client):
    from governance.cards.models import ModelCardVersion
    world = cards_world
    client = _client(api_client, world["auditor"])

    def add_rows(count):
        for _ in range(count):
            card = ModelCard.objects.create(team=world.team, name=unique_name(), account_id="222222222203",
                                            created_by=world["ds"], current_version=1)
            ModelCardVersion.objects.create(card=card, version=1, status="Draft")

    add_rows(2)
    client.get("/api/v1/model-cards/")   # warm-up: per-user caches
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/model-cards/").status_code == 200
    add_rows(6)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/model-cards/").json()["count"] == 8
    assert len(many) == len(few)
    client.force_login(world["ds"])
    client.get("/model-cards/")
    with CaptureQueriesContext(connection) as page_few:
        assert client.get("/model-cards/").status_code == 200
    add_rows(5)
    with CaptureQueriesContext(connection) as page_many:
        assert client.get("/model-cards/").status_code == 200
    assert len(page_many) == len(page_few)


def test_lineage_api_and_page(cards_world, api_client, model_version):
    from portal.aws import client as aws_client
    sagemaker = aws_client("sagemaker", account_id="333333333311")
    suffix = unique_name("ln")
    dataset = sagemaker.create_artifact(ArtifactName=f"data-{suffix}", ArtifactType="DataSet",
                                        Source={"SourceUri": f"s3://lake/{suffix}/train.csv"})["ArtifactArn"]
    model = sagemaker.create_artifact(ArtifactName=f"model-{suffix}", ArtifactType="Model",
                                      Source={"SourceUri": f"s3://models/{suffix}/model.tar.gz"})["ArtifactArn"]
    sagemaker.add_association(SourceArn=dataset, DestinationArn=model, AssociationType="ContributedTo")
    client = _client(api_client, cards_world["mle"])
    graph = client.get("/api/v1/lineage/", {"arn": dataset, "direction": "Descendants"}).json()
    assert {node["id"] for node in graph["nodes"]} >= {dataset, model}
    assert {"source": dataset, "target": model, "type": "ContributedTo"} in graph["edges"]
    client.force_login(cards_world["mle"])
    page = client.get("/lineage/", {"arn": model, "direction": "Ascendants"})
    assert page.status_code == 200 and dataset in page.content.decode()
    assert b"lineage.js" in page.content and b'id="lineage-data"' in page.content
    bad = client.get("/api/v1/lineage/", {"arn": "not-an-arn"})
    assert bad.status_code == 400 and "ARN" in bad.json()["error"]["message"]
    other = _client(api_client, cards_world["other_lead"])
    assert other.get("/api/v1/lineage/", {"arn": dataset}).status_code == 404


def test_lineage_of_a_registry_version_ends_at_its_card(cards_world, api_client):
    from governance.models import ModelGroup, ModelVersion
    from tests.governance.conftest import new_group_name, register_version
    world = cards_world
    group_name = new_group_name("lineage")
    arn = register_version(group_name, as_user="ds")
    group = ModelGroup.objects.create(team=world.team, account=world.account, name=group_name, arn=f"{arn}-group")
    version = ModelVersion.objects.create(group=group, team=world.team, version=1, arn=arn)
    card = make_card(world, model_version=version)
    graph = _client(api_client, world["ds"]).get("/api/v1/lineage/", {"arn": arn}).json()
    types = {node["type"] for node in graph["nodes"]}
    assert {"DataSet", "ModelCard"} <= types or {"Model", "ModelCard"} <= types, types
    card_node = next(node for node in graph["nodes"] if node["type"] == "ModelCard")
    assert card_node["url"] == f"/model-cards/{card.pk}/"
    assert {"source": graph["start"], "target": card_node["id"], "type": "AssociatedWith"} in graph["edges"]
