"""An in-memory stand-in for governance.cards.aws, for the permission matrix (hundreds of requests:
the real sandbox path is covered by test_services.py and test_api.py)."""
import itertools

_ids = itertools.count(1)


class FakeCards:
    def __init__(self):
        self.cards = {}

    def create_card(self, account_id, *, name, content, status, tags):
        self.cards[name] = [{"status": status, "content": content}]
        return f"arn:aws:sagemaker:us-east-1:{account_id}:model-card/{name}"

    def update_content(self, account_id, *, name, content):
        self.cards[name].append({"status": self.cards[name][-1]["status"], "content": content})

    def update_status(self, account_id, *, name, status):
        self.cards[name].append({"status": status, "content": self.cards[name][-1]["content"]})

    def describe_card(self, account_id, *, name, version=None):
        versions = self.cards[name]
        number = version or len(versions)
        return {"arn": f"arn:aws:sagemaker:us-east-1:{account_id}:model-card/{name}", "name": name,
                "version": number, "status": versions[number - 1]["status"],
                "content": versions[number - 1]["content"], "modified_at": None, "modified_by": ""}

    def share_card(self, account_id, **kwargs):
        return {"arn": f"arn:aws:ram:us-east-1:{account_id}:resource-share/{next(_ids)}", "status": "ACTIVE"}

    def delete_share(self, account_id, **kwargs):
        return None

    def list_cards(self, account_id):
        return []

    def query_lineage(self, account_id, *, arn, direction="Both", max_depth=10):
        return {"start": arn, "nodes": [{"arn": arn, "type": "Model", "lineage_type": "Artifact"}], "edges": []}

    def download(self, account_id, *, s3_uri):
        return b"%PDF-1.4 fake"


def install(monkeypatch) -> FakeCards:
    from governance.cards import aws
    fake = FakeCards()
    for name in ("create_card", "update_content", "update_status", "describe_card", "share_card", "delete_share",
                 "list_cards", "query_lineage", "download"):
        monkeypatch.setattr(aws, name, getattr(fake, name))
    return fake
