"""The weekly cost digest: opt in, one e-mail per user and week with a PDF, within the user's scope."""
import pytest
from django.core import mail
from django.urls import reverse

from costs import services
from costs.models import DigestDelivery, DigestSubscription
from portal.models import AuditEvent

pytestmark = pytest.mark.usefixtures("boundary_clock")     # each test at every boundary day


def test_opt_in_then_one_digest_a_week_with_a_pdf(synced, cost_world, client):
    client.force_login(cost_world["other_lead"])
    assert "You do not get the digest." in client.get(reverse("costs:digest")).content.decode()
    client.post(reverse("costs:digest"), {"subscribed": "1"})
    client.post(reverse("costs:digest"), {"subscribed": "1"})              # a repeat changes nothing
    assert DigestSubscription.objects.filter(user=cost_world["other_lead"]).count() == 1
    assert AuditEvent.objects.filter(action="cost_digest.subscribe").count() == 1
    services.digest_subscription_set(actor=cost_world["executive"], subscribed=True)

    assert services.cost_digest_send() == 2
    assert services.cost_digest_send() == 0                                # once per user and week
    by_user = {message.to[0]: message for message in mail.outbox}
    lead_mail = by_user["other_lead@example.com"]
    assert "Credit Risk" in lead_mail.body and "Fraud Detection" not in lead_mail.body   # only their team
    assert "Fraud Detection" in by_user["executive@example.com"].body
    [(name, content, mimetype)] = lead_mail.attachments
    assert mimetype == "application/pdf" and content.startswith(b"%PDF") and name.endswith(".pdf")
    assert DigestDelivery.objects.count() == 2

    client.post(reverse("costs:digest"), {"subscribed": "0"})
    assert not DigestSubscription.objects.filter(user=cost_world["other_lead"]).exists()


def test_members_who_are_not_leads_cannot_subscribe(cost_world, client):
    client.force_login(cost_world["ds"])
    assert client.post(reverse("costs:digest"), {"subscribed": "1"}).status_code == 403
    assert not DigestSubscription.objects.exists()
