"""One workflow engine for every request kind (DESIGN.md §5 and §10).

Each app declares its kind once as a ``Machine`` (states with labels and terminal flags, actions
with their source -> target edges and the permission-registry action that lets a person take
them) and registers it from ``AppConfig.ready``; the core imports no app. ``transition`` is the
one way a row changes state: it checks the edge and the permission, writes the state, appends the
step-log row and the audit event in the caller's transaction (or its own), and runs ``then``
after commit. A small declared table rather than a library: see docs/decisions.md
("One workflow engine").

The step log of every kind is a model inheriting ``portal.models.StepLog``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.errors import InvalidTransition
from portal.models import StepLog
from portal.permissions import SYSTEM, require, team_id_of


# Who may take an action: the permission-registry action (``permissions.register`` rules), or
# SYSTEM_ONLY for steps only the portal's own workers and services take (start, succeed, fail...).
SYSTEM_ONLY = None


@dataclass(frozen=True)
class Action:
    name: str
    label: str                         # completes "it cannot <label> now"
    permission: str | None = SYSTEM_ONLY
    event: str = ""                    # public name (webhooks, API): ``<kind>.<event>``; default the name


@dataclass(frozen=True)
class State:
    value: str
    label: str
    terminal: bool = False


@dataclass
class Machine:
    """A request kind's declared state machine."""
    kind: str                                          # public name: API, webhooks ("account_request")
    model: type[models.Model]
    states: dict[str, State]
    actions: dict[str, Action]
    edges: dict[tuple[str, str], str]                  # (source, action) -> target
    noun: str = "request"                              # "This <noun> is <state>; ..."
    state_field: str = "state"
    step_model: type[StepLog] | None = None
    step_fk: str = "request"
    audit_prefix: str = ""                             # audit action "<prefix>.<action>"; default kind
    # Called with (obj, source, target, now) after the state is set and before the row is saved:
    # the kind's own timestamps (state_changed_at, finished_at...).
    on_change: Callable | None = None
    # Save only the state, the changes and these fields (kinds whose rows other writers touch
    # field by field); None saves the whole row.
    save_fields: tuple[str, ...] | None = None
    url: Callable | None = None                        # obj -> its page (webhook events link to it)

    def __post_init__(self):
        for (source, action), target in self.edges.items():
            if source not in self.states or target not in self.states:
                raise ValueError(f"{self.kind}: edge {source} --{action}--> {target} names an undeclared state")
            if action not in self.actions:
                raise ValueError(f"{self.kind}: edge {source} --{action}--> {target} names an undeclared action")
        for state in self.states.values():
            if state.terminal and self.allowed_actions(state.value):
                raise ValueError(f"{self.kind}: terminal state {state.value} has outgoing actions")
        self.audit_prefix = self.audit_prefix or self.kind

    @classmethod
    def declare(cls, *, kind: str, model, choices, terminal: Iterable[str], actions: dict[str, tuple],
                edges: dict[tuple[str, str], str], **options) -> Machine:
        """Build a machine from a TextChoices class (labels), the terminal states, and
        ``actions``: name -> (label, permission[, event])."""
        terminal = set(terminal)
        states = {value: State(value, str(label), value in terminal) for value, label in choices.choices}
        return cls(kind=kind, model=model, states=states, edges=dict(edges),
                   actions={name: Action(name, *spec) for name, spec in actions.items()}, **options)

    # --- the table ------------------------------------------------------------------------------
    def label(self, state: str) -> str:
        return self.states[state].label if state in self.states else state

    def is_terminal(self, state: str) -> bool:
        return state in self.states and self.states[state].terminal

    def terminal_states(self) -> frozenset[str]:
        return frozenset(value for value, state in self.states.items() if state.terminal)

    def next_state(self, state: str, action: str) -> str:
        """The state ``action`` leads to from ``state``; InvalidTransition (409) when there is no edge."""
        try:
            return self.edges[(state, action)]
        except KeyError:
            spec = self.actions.get(action)
            raise InvalidTransition(
                f"This {self.noun} is {self.label(state).lower()}; it cannot {spec.label if spec else action} now."
            ) from None

    def target(self, action: str, state: str) -> str | None:
        return self.edges.get((state, action))

    def allowed_actions(self, state: str) -> set[str]:
        return {action for (source, action) in self.edges if source == state}

    def event_name(self, action: str) -> str:
        """``<kind>.<transition>``: the name scripts see in webhooks and the API."""
        spec = self.actions.get(action)
        return f"{self.kind}.{(spec and spec.event) or action}"

    # --- who may --------------------------------------------------------------------------------
    def may(self, actor, action: str, obj) -> bool:
        """May ``actor`` take ``action`` on ``obj`` as far as the machine knows (the permission
        registry; services add their own rules such as separation of duties)."""
        try:
            self.check_permission(actor, action, obj)
        except PermissionDenied:
            return False
        return True

    def check_permission(self, actor, action: str, obj) -> None:
        spec = self.actions[action]
        if actor is SYSTEM or actor is None:
            return
        if spec.permission is SYSTEM_ONLY:
            raise PermissionDenied(f"Only the portal itself may {spec.label} this {self.noun}.")
        require(actor, spec.permission, self.model, team_id_of(obj))


_MACHINES: dict[str, Machine] = {}


def register(machine: Machine) -> Machine:
    """Declare a kind (apps call this when their transitions module is imported)."""
    existing = _MACHINES.get(machine.kind)
    if existing is not None and existing.model is not machine.model:
        raise ValueError(f"Two machines claim the kind {machine.kind}")
    _MACHINES[machine.kind] = machine
    return machine


def machines() -> list[Machine]:
    return [_MACHINES[kind] for kind in sorted(_MACHINES)]


def machine_for(model_or_obj) -> Machine:
    model = model_or_obj if isinstance(model_or_obj, type) else type(model_or_obj)
    for machine in _MACHINES.values():
        if machine.model is model:
            return machine
    raise LookupError(f"No workflow machine is registered for {model._meta.label}")


def actor_name(actor) -> str:
    return actor.get_username() if actor is not None and actor is not SYSTEM and getattr(actor, "pk", None) \
        else "portal"


def step_log(machine: Machine, obj, action: str, outcome: str = StepLog.Outcome.OK, detail: str = "",
             started=None) -> StepLog | None:
    """Append one line to ``obj``'s step log (transitions and AWS calls alike)."""
    if machine.step_model is None:
        return None
    now = timezone.now()
    model = machine.step_model
    return model.objects.create(**{machine.step_fk: obj}, action=action, outcome=outcome,
                                detail=detail[:model.DETAIL_MAX], started_at=started or now, finished_at=now)


def transition(obj, action: str, *, actor, detail: str = "", step_detail: str | None = None,
               outcome: str = StepLog.Outcome.OK, changes: dict | None = None, check_permission: bool = True,
               audit_action: str = "", before: dict | None = None, after: dict | Callable | None = None,
               then: Callable[[], None] | None = None) -> str:
    """Move ``obj`` (locked by the caller, or compare-and-set by it) along its machine.

    Checks the edge (InvalidTransition, 409) and, unless ``check_permission`` is False (the
    service checked a finer rule, e.g. a delegate deciding for its principal), that ``actor`` may
    take the action; sets the state and ``changes``; saves; appends a step (``step_detail``,
    default "<from> → <to> by <who>: detail"); writes the audit event ``<prefix>.<action>``
    (``before``/``after`` default to the states; ``after`` may be a callable given the changed
    object) and the webhook event ``<kind>.<event>`` for the object's team (``portal.webhooks``);
    and runs ``then`` after commit. All in one transaction. Returns the new state.
    """
    machine = machine_for(obj)
    field_name = machine.state_field
    source = getattr(obj, field_name)
    target = machine.next_state(source, action)
    if check_permission:
        machine.check_permission(actor, action, obj)
    with transaction.atomic():
        setattr(obj, field_name, target)
        for name, value in (changes or {}).items():
            setattr(obj, name, value)
        if machine.on_change is not None:
            machine.on_change(obj, source, target, timezone.now())
        if machine.save_fields is None:
            obj.save()
        else:
            obj.save(update_fields=list(dict.fromkeys([field_name, *(changes or {}), *machine.save_fields])))
        if step_detail is None:
            step_detail = (f"{machine.label(source)} → {machine.label(target)} by {actor_name(actor)}"
                           + (f": {detail}" if detail else ""))
        step_log(machine, obj, action, outcome, step_detail)
        team = getattr(obj, "team", None)
        audit_record(actor=actor, action=audit_action or f"{machine.audit_prefix}.{action}", target=obj, team=team,
                     before=before if before is not None else {field_name: source},
                     after=after(obj) if callable(after) else after if after is not None else {
                         field_name: target, **({"detail": detail} if detail else {})})
        _emit(machine, obj, action, source, target, team, detail)
        if then is not None:
            transaction.on_commit(then)
    return target


def _emit(machine: Machine, obj, action: str, source: str, target: str, team, detail: str) -> None:
    """The webhook event ``<kind>.<transition>`` of the object's team (caller's transaction)."""
    if team is None:
        return
    from portal.webhooks import webhook_event_emit

    webhook_event_emit(team=team, kind=machine.event_name(action),
                       subject=f"{machine.noun.capitalize()} {obj}: {machine.label(source)} → {machine.label(target)}"[:200],
                       body=detail, url=machine.url(obj) if machine.url else "")
