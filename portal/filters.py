"""The API's list filters: django-filter's, refusing what it would silently ignore.

django-filter reads ``?active=maybe`` (or ``?read_at__isnull=null``) as "no filter" and skips a
typed parameter given empty (``?since=``, ``?state=``), so a script's typo answers the whole
list. Here both are a 400 naming the parameter, as every other bad input is. Every filter set of
the API derives from ``PortalFilterSet`` (the backend uses it for ``filterset_fields`` too).
"""
import django_filters
from django import forms
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.rest_framework.filterset import FILTER_FOR_DBFIELD_DEFAULTS, FilterSet

TRUE, FALSE = ("true", "1"), ("false", "0")


class StrictBooleanField(forms.NullBooleanField):
    widget = forms.TextInput

    def to_python(self, value):
        if value in (True, False, None, ""):
            return None if value == "" else value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class PortalFilterSet(FilterSet):
    FILTER_DEFAULTS = {**FILTER_FOR_DBFIELD_DEFAULTS,
                       models.BooleanField: {"filter_class": StrictBooleanFilter}}

    def is_valid(self):
        valid = super().is_valid()
        for name, declared in self.filters.items():
            if isinstance(declared, django_filters.CharFilter) or self.data.get(name, None) != "":
                continue
            field = self.form.fields.get(name)
            if field is not None and not (isinstance(field, forms.ChoiceField) and field.valid_value("")):
                self.form.add_error(name, "Give a value, or leave the parameter out.")
                valid = False
        return valid


class FilterBackend(DjangoFilterBackend):
    """DEFAULT_FILTER_BACKENDS' filter backend: ``filterset_fields`` build a ``PortalFilterSet``."""
    filterset_base = PortalFilterSet
