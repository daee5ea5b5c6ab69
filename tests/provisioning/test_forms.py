"""The request form generator: one field kind per parameter shape (no database, no AWS)."""
from django import forms

from provisioning.forms import parameter_field
from provisioning.policies import parameter_problem, resolve_values


def _param(key, **extra):
    constraints = extra.pop("constraints", {})
    return {"ParameterKey": key, "ParameterType": extra.pop("type_", "String"), "IsNoEcho": extra.pop("no_echo", False),
            "Description": extra.pop("description", f"{key} help"),
            "ParameterConstraints": {"AllowedValues": [], **constraints}, **extra}


def test_field_kinds_follow_the_parameter():
    choice = parameter_field(_param("Size", DefaultValue="s", constraints={"AllowedValues": ["s", "m"]}), {})
    assert isinstance(choice, forms.ChoiceField) and choice.initial == "s" and not choice.required
    secret = parameter_field(_param("Password", no_echo=True), {})
    assert isinstance(secret.widget, forms.PasswordInput) and secret.required and secret.help_text == "Password help"
    number = parameter_field(_param("Count", type_="Number", constraints={"MinValue": "1", "MaxValue": "5"}), {})
    assert isinstance(number, forms.FloatField) and number.min_value == 1 and number.max_value == 5
    text = parameter_field(_param("Name", constraints={"AllowedPattern": "[a-z]+", "MaxLength": "8",
                                                       "ConstraintDescription": "lower-case letters"}), {})
    assert text.max_length == 8 and "lower-case letters" in text.help_text
    assert not type("F", (forms.Form,), {"Name": text})({"Name": "ABC"}).is_valid()
    narrowed = parameter_field(_param("Type", DefaultValue="a", constraints={"AllowedValues": ["a", "b", "c"]}),
                               {"Type": {"allowed": "a,b", "default": "b"}})
    assert [value for value, _label in narrowed.choices] == ["a", "b"] and narrowed.initial == "b"


def test_server_side_checks_and_presets():
    parameters = [_param("Name", constraints={"AllowedPattern": "[a-z]+", "MinLength": "2"}),
                  _param("Vpc"), _param("Secret", no_echo=True), _param("Size", DefaultValue="s")]
    values, secrets, problems = resolve_values(parameters, {"Vpc": {"hidden": "vpc-1"}},
                                               {"Name": "ab", "Vpc": "ignored", "Secret": "x"})
    assert values == {"Name": "ab", "Vpc": "vpc-1", "Size": "s"} and secrets == {"Secret": "x"} and not problems
    _values, _secrets, problems = resolve_values(parameters, {}, {"Name": "A", "Extra": "1"})
    assert problems == {"Name": "Must match the pattern [a-z]+.", "Vpc": "This value is required.",
                        "Secret": "This value is required.", "parameters": "Unknown parameters: Extra."}
    assert parameter_problem(_param("N", type_="Number", constraints={"MaxValue": "3"}), "4", []) == \
        "Enter a number of at most 3."
