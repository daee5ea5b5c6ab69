"""Every registered workflow machine, through every legal and every illegal (state, action) pair.

Generated from the declarations (portal.workflow), so a new kind is covered by registering it:
the table answers each pair; ``transition()`` on a legal pair writes the state, saves, logs one
step, audits ``<prefix>.<action>`` and schedules its work after commit, and on an illegal pair
raises InvalidTransition (409) and writes nothing; each action is taken only by whom the
permission registry allows (or by the portal itself).
"""
import pytest
from django.core.exceptions import PermissionDenied

from portal import workflow
from portal.errors import InvalidTransition
from portal.models import Team
from portal.permissions import SYSTEM, has_perm, policy_for

KINDS = {"provisioning_request", "account_request", "model_version", "model_card"}


def _pairs():
    for machine in workflow.machines():
        for state in machine.states:
            for action in sorted(machine.actions):
                yield pytest.param(machine.kind, state, action, id=f"{machine.kind}-{state}-{action}")


def test_every_request_kind_is_registered_once_with_its_model():
    machines = workflow.machines()
    assert {machine.kind for machine in machines} >= KINDS
    assert len({machine.model for machine in machines}) == len(machines)
    for machine in machines:
        assert workflow.machine_for(machine.model) is machine


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_machine_is_well_formed(kind):
    machine = next(m for m in workflow.machines() if m.kind == kind)
    states = set(machine.states)
    assert set(dict(machine.model._meta.get_field(machine.state_field).choices)) == states
    for state in machine.terminal_states():
        assert machine.allowed_actions(state) == set(), f"terminal {state} has actions"
    # Every action is used by an edge, and every non-terminal state has a way out.
    assert {action for (_source, action) in machine.edges} == set(machine.actions)
    for state in states - machine.terminal_states():
        assert machine.allowed_actions(state), f"{state} is not terminal but has no way out"
    # Who may act is a rule of the permission registry, or the portal itself.
    rules = policy_for(machine.model).rules
    for action in machine.actions.values():
        assert action.permission is workflow.SYSTEM_ONLY or action.permission in rules, action
        assert machine.event_name(action.name).startswith(f"{kind}.")


class _Recorder:
    def __init__(self):
        self.steps, self.audits, self.events, self.saves = [], [], [], 0


@pytest.fixture
def recorder(monkeypatch):
    record = _Recorder()
    monkeypatch.setattr(workflow, "step_log", lambda machine, obj, action, outcome="ok", detail="", started=None:
                        record.steps.append((action, outcome, detail)))
    monkeypatch.setattr(workflow, "audit_record", lambda **kwargs: record.audits.append(kwargs))
    monkeypatch.setattr(workflow, "_emit", lambda machine, obj, action, *rest: record.events.append(
        machine.event_name(action)))
    return record


def _instance(machine, state, team, record):
    obj = machine.model(**{machine.state_field: state})
    obj.team = team

    def save(*args, **kwargs):
        record.saves += 1
    obj.save = save
    return obj


@pytest.mark.django_db
@pytest.mark.parametrize("kind,state,action", list(_pairs()))
def test_transition_on_every_pair(kind, state, action, recorder, django_capture_on_commit_callbacks):
    machine = next(m for m in workflow.machines() if m.kind == kind)
    obj = _instance(machine, state, Team(pk=1, name="Fraud", slug="fraud"), recorder)
    ran = []
    legal = (state, action) in machine.edges
    with django_capture_on_commit_callbacks(execute=True):
        if legal:
            target = workflow.transition(obj, action, actor=SYSTEM, detail="why", then=lambda: ran.append(action))
        else:
            with pytest.raises(InvalidTransition) as refused:
                workflow.transition(obj, action, actor=SYSTEM, then=lambda: ran.append(action))
    if legal:
        assert target == machine.edges[(state, action)] == getattr(obj, machine.state_field)
        assert recorder.saves == 1 and ran == [action]
        assert [step[0] for step in recorder.steps] == [action]
        assert [event["action"] for event in recorder.audits] == [f"{machine.audit_prefix}.{action}"]
        assert recorder.audits[0]["before"] == {machine.state_field: state}
        assert recorder.audits[0]["after"][machine.state_field] == target
        spec = machine.actions[action]
        assert recorder.events == [f"{kind}.{spec.event or action}"]
    else:
        error = refused.value
        assert error.status == 409 and error.code == "invalid_transition"
        assert machine.label(state).lower() in error.message and machine.actions[action].label in error.message
        assert getattr(obj, machine.state_field) == state
        assert (recorder.saves, recorder.steps, recorder.audits, recorder.events, ran) == (0, [], [], [], [])


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_who_may_take_each_action_is_the_registry(kind, world, recorder):
    """For every legal edge: the portal itself may; a person only with the action's registry
    permission in the object's team (an outsider never; a system-only step no person)."""
    machine = next(m for m in workflow.machines() if m.kind == kind)
    for (state, action), _target in sorted(machine.edges.items()):
        spec = machine.actions[action]
        for persona in world.PERSONAS:
            user = world[persona]
            allowed = spec.permission is not workflow.SYSTEM_ONLY and has_perm(
                user, spec.permission, machine.model, world.team.pk)
            obj = _instance(machine, state, world.team, recorder)
            assert machine.may(user, action, obj) is allowed, (state, action, persona)
            if not allowed:
                with pytest.raises(PermissionDenied):
                    workflow.transition(obj, action, actor=user)
                assert getattr(obj, machine.state_field) == state
        assert machine.may(SYSTEM, action, _instance(machine, state, world.team, recorder))
        assert not machine.may(world["outsider"], action, _instance(machine, state, world.team, recorder))
