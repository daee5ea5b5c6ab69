"""Lineage of a SageMaker entity: QueryLineage (via aws.py) plus the portal's own records (the
model card documenting a model package). Reads only."""
from governance.cards import aws, selectors
from portal.errors import DomainError

DIRECTIONS = [("Both", "Upstream and downstream"), ("Ascendants", "Upstream (what it came from)"),
              ("Descendants", "Downstream (what used it)")]


def _label(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def lineage_for_user(user, arn: str, *, direction: str = "Both") -> dict:
    """{"start", "nodes": [{id, label, type, lineage_type}], "edges": [{source, target, type}]}"""
    if direction not in dict(DIRECTIONS):
        raise DomainError("Direction must be Both, Ascendants or Descendants.", fields={"direction": ["Unknown."]})
    account_id = selectors.lineage_account_for_user(user, arn)
    try:
        graph = aws.query_lineage(account_id, arn=arn, direction=direction)
    except aws.AWS_ERRORS as error:
        raise DomainError(f"SageMaker could not trace this entity: {aws.error_message(error)}",
                          code="aws_error") from error
    nodes = {node["arn"]: {"id": node["arn"], "label": _label(node["arn"]), "type": node["type"],
                           "lineage_type": node["lineage_type"], "url": ""} for node in graph["nodes"]}
    start = graph.get("start", arn)
    nodes.setdefault(start, {"id": start, "label": _label(start), "type": "", "lineage_type": "", "url": ""})
    edges = list(graph["edges"])
    if direction != "Ascendants":
        for package_arn, card in selectors.cards_for_arns(user, set(nodes) | {arn}).items():
            card_id = card.arn or f"portal:model-card/{card.pk}"
            nodes[card_id] = {"id": card_id, "label": f"Model card {card.name} ({card.get_status_display()})",
                              "type": "ModelCard", "lineage_type": "Portal", "url": f"/model-cards/{card.pk}/"}
            edges.append({"source": start if package_arn == arn else package_arn, "target": card_id,
                          "type": "AssociatedWith"})
    return {"start": start, "nodes": list(nodes.values()), "edges": edges}
