"""The audit log: written with each change, hash-chained, append-only, verified."""
import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from portal import services
from portal.audit import audit_record, audit_verify
from portal.models import AuditEvent, Team
from portal.permissions import SYSTEM


def _team(slug="t1"):
    return services.team_create(actor=SYSTEM, name=slug.upper(), slug=slug, line_of_business="LoB", cost_center="C")


def test_a_change_and_its_audit_event_commit_together(world):
    before = AuditEvent.objects.count()
    team = services.team_create(actor=world["platform_admin"], name="Vision", slug="vision",
                                line_of_business="Retail", cost_center="CC-7")
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == before + 1
    assert (event.action, event.target_id, event.actor_label, event.team_id) == \
        ("team.create", str(team.pk), "platform-admin", team.pk)
    assert event.after["slug"] == "vision" and event.before is None


def test_a_failed_change_leaves_no_audit_event(world):
    before = AuditEvent.objects.count()
    with pytest.raises(Exception):
        services.team_create(actor=world["platform_admin"], name="Bad", slug="Not A Slug",
                             line_of_business="x", cost_center="y")
    assert AuditEvent.objects.count() == before
    assert not Team.objects.filter(name="Bad").exists()


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError):
        audit_record(actor=SYSTEM, action="x", target_type="t", target_id="1")


def test_events_carry_request_id_and_ip(world, client):
    client.force_login(world["platform_admin"])
    response = client.post("/teams/new/", {"name": "NLP", "slug": "nlp", "line_of_business": "Ops",
                                           "cost_center": "C9", "monthly_budget_usd": "5"},
                           HTTP_X_REQUEST_ID="req-123", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="team.create", target_label="NLP")
    assert (event.request_id, event.ip_address) == ("req-123", "10.1.2.3")
    assert response["X-Request-ID"] == "req-123"


def test_the_chain_links_each_event_to_the_one_before(world):
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
    assert audit_verify().intact


def test_verify_reports_the_first_tampered_event(world, capsys):
    target = AuditEvent.objects.order_by("seq")[3]
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=target.pk).update(target_label="forged")
        return   # the database itself refuses to rewrite history
    AuditEvent.objects.filter(pk=target.pk).update(target_label="forged")
    result = audit_verify()
    assert (result.intact, result.broken_seq) == (False, target.seq)
    with pytest.raises(Exception) as error:
        call_command("audit_verify")
    assert f"broken at event #{target.seq}" in str(error.value)


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="append-only trigger exists on PostgreSQL only (SQLite has no such guard)")
def test_postgres_refuses_to_delete_audit_events(world):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_audit_verify_command_says_intact(world, capsys):
    call_command("audit_verify")
    assert capsys.readouterr().out.startswith("intact (")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_cannot_fork_the_chain():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises all writers; the race needs PostgreSQL (run by .ci/run)")
    errors = []

    def write(n):
        try:
            _team(f"team-{n}")
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 13))
    assert audit_verify().intact


def test_deleting_a_user_or_team_keeps_the_chain_intact(world):
    from django.contrib.auth import get_user_model
    get_user_model().objects.filter(pk=world["lead"].pk).delete()
    assert audit_verify().intact
    event = AuditEvent.objects.filter(target_label="lead").first()
    assert event is not None and event.target_label == "lead"


def test_tasks_carry_the_request_id_of_what_queued_them():
    from types import SimpleNamespace

    from portal.celery import REQUEST_ID_HEADER, _bind_request_id, _carry_request_id, _unbind_request_id
    from portal.context import current_request_id, request_context

    headers = {}
    with request_context(request_id="web-42"):
        _carry_request_id(headers=headers)
    assert headers == {REQUEST_ID_HEADER: "web-42"}
    task = SimpleNamespace(request=SimpleNamespace(get=headers.get))
    _bind_request_id(task=task)
    assert current_request_id() == "web-42"
    _unbind_request_id(task=task)
    assert current_request_id() == ""
