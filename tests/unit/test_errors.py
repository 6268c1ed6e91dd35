"""Domain errors are raised with a literal English template and named parameters: `message` is the
English sentence, `template` and `params` let the web layer say it in Thai."""

import ast
import pickle
import string
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from application.errors import ConflictError, NotFound, RecordKind
from domain.errors import DomainError, InvalidInput, NotPermitted, TransitionRefused, UnitUnavailable
from domain.permissions import Action, authorize
from domain.values import Actor, IncidentStatus, Priority, Role, UnitStatus, clean_text

ROOT = Path(__file__).resolve().parents[2]
ERROR_CLASSES = {
    "DomainError",
    "InvalidInput",
    "TransitionRefused",
    "NotPermitted",
    "UnitUnavailable",
    "TokenRefused",
    "NotFound",
    "ConflictError",
}


def test_the_message_is_the_template_formatted_and_the_template_and_params_are_kept():
    error = TransitionRefused("Incident {reference} is already closed.", reference="CR-2569-000007")

    assert error.message == str(error) == "Incident CR-2569-000007 is already closed."
    assert error.template == "Incident {reference} is already closed."
    assert error.params == {"reference": "CR-2569-000007"}
    assert error.field is None


def test_an_enum_parameter_reads_as_its_value_with_spaces_but_stays_an_enum_in_params():
    error = UnitUnavailable(
        "Unit {call_sign} is {status} and cannot be dispatched.", call_sign="P-11", status=UnitStatus.OFF_DUTY
    )

    assert error.message == "Unit P-11 is off duty and cannot be dispatched."
    assert error.params["status"] is UnitStatus.OFF_DUTY


def test_the_field_placeholder_is_the_field_at_fault_with_spaces():
    error = InvalidInput("The {field} must not be empty.", field="display_name")

    assert error.message == "The display name must not be empty."
    assert error.field == "display_name" and error.params == {}


def test_clean_text_names_its_field_and_passes_the_numbers_as_parameters():
    with pytest.raises(InvalidInput) as info:
        clean_text("x" * 301, "reason", required=True, max_len=300)

    assert info.value.message == "The reason is too long (301 characters; at most 300)."
    assert info.value.template == "The {field} is too long ({length} characters; at most {max_len})."
    assert info.value.params == {"length": 301, "max_len": 300} and info.value.field == "reason"


@pytest.mark.parametrize(
    "role, action, sentence",
    [
        (Role.AUDITOR, Action.CLOSE_INCIDENT, "An auditor may not close an incident."),
        (Role.OFFICER, Action.DISPATCH_UNIT, "An officer may not dispatch a unit."),
        (Role.DISPATCHER, Action.VOID_VISIT, "A dispatcher may not void a patrol visit."),
    ],
)
def test_a_refused_permission_names_the_role_and_the_action_as_enums(role, action, sentence):
    with pytest.raises(NotPermitted) as info:
        authorize(Actor(uuid4(), role), action)

    assert info.value.message == sentence
    assert info.value.params == {"role": role, "action": action}


def test_another_error_as_a_parameter_reads_as_its_message_and_a_conflict_keeps_it_as_its_cause():
    lost = TransitionRefused(
        "Incident {reference} is {status}; it cannot be triaged.",
        reference="CR-2569-000001",
        status=IncidentStatus.ON_SCENE,
    )
    conflict = ConflictError("Someone else acted first: {cause}", cause=lost)

    assert conflict.message == "Someone else acted first: Incident CR-2569-000001 is on scene; it cannot be triaged."
    assert conflict.cause_error is lost
    assert ConflictError("Too many people changed this at the same moment; please try again.").cause_error is None


def test_a_conflict_keeps_the_aggregate_and_its_current_version_apart_from_the_parameters():
    aggregate_id = uuid4()
    conflict = ConflictError(
        "{label} was changed by someone else while you were looking at it; here is how it stands now.",
        aggregate_id=aggregate_id,
        current_version=7,
        label="CR-2569-000002",
    )

    assert conflict.message.startswith("CR-2569-000002 was changed by someone else")
    assert (conflict.aggregate_id, conflict.current_version) == (aggregate_id, 7)
    assert conflict.params == {"label": "CR-2569-000002"}


def test_a_what_and_an_instant_read_in_plain_english():
    at = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)
    missing = NotFound("There is no {what} with id {aggregate_id}.", what=RecordKind.PATROL_UNIT, aggregate_id="abc")
    late = NotFound(
        "Nothing with id {aggregate_id} had been recorded by {recorded_at}.", aggregate_id="abc", recorded_at=at
    )

    assert missing.message == "There is no patrol unit with id abc."
    assert late.message == "Nothing with id abc had been recorded by 2026-03-14T02:30:00+00:00."


def test_a_template_that_needs_a_parameter_nobody_gave_is_a_programming_error():
    with pytest.raises(KeyError):
        TransitionRefused("Unit {call_sign} is already retired.", reference="CR-2569-000001")


def test_a_sentence_written_before_templates_is_kept_as_it_is_even_with_braces():
    error = InvalidInput("Unknown sort '{weird}'.", field="sort")

    assert error.message == "Unknown sort '{weird}'." and error.params == {}


def test_an_error_keeps_its_template_and_parameters_through_pickling():
    error = ConflictError(
        "Someone else acted first: {cause}",
        aggregate_id=None,
        current_version=3,
        cause=InvalidInput("The {field} must not be empty.", field="reason"),
    )

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is ConflictError and str(copy) == error.message
    assert (copy.template, copy.current_version, copy.cause_error.field) == (error.template, 3, "reason")


def test_priorities_are_plain_enums_so_they_read_as_their_value():
    assert DomainError("Priority {priority} is set.", priority=Priority.P1).message == "Priority P1 is set."


# --- every raise site: a literal template, and every placeholder given ------------------------------------


def _error_calls():
    for path in sorted([*ROOT.joinpath("domain").glob("*.py"), *ROOT.joinpath("application").glob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ERROR_CLASSES:
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def test_every_domain_error_is_raised_with_a_literal_template_and_gets_every_placeholder():
    calls = list(_error_calls())
    assert len(calls) >= 75
    for where, call in calls:
        assert call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str), (
            f"{where}: the template must be a string literal (not an f-string), so that it can be translated"
        )
        template = call.args[0].value
        needed = {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}
        given = {kw.arg for kw in call.keywords if kw.arg is not None}
        if any(kw.arg is None for kw in call.keywords):  # **params: checked when the tests raise it
            continue
        assert needed <= given, f"{where}: {template!r} needs {sorted(needed - given)}"
