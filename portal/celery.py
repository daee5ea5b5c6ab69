"""The Celery app. Configuration is read from Django settings (CELERY_* names)."""
import os
from contextlib import ExitStack

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "portal_request_id"


@before_task_publish.connect
def _carry_request_id(headers=None, **_kwargs):
    """A task inherits the request id of the web request (or task) that queued it, so its audit
    events can be traced back to what started them."""
    from portal.context import current_request_id

    if headers is not None and current_request_id():
        headers.setdefault(REQUEST_ID_HEADER, current_request_id())


@task_prerun.connect
def _bind_request_id(task=None, **_kwargs):
    from portal.context import request_context

    scope = ExitStack()
    scope.enter_context(request_context(request_id=task.request.get(REQUEST_ID_HEADER)))
    task.request.portal_context = scope


@task_postrun.connect
def _unbind_request_id(task=None, **_kwargs):
    scope = getattr(task.request, "portal_context", None)
    if scope is not None:
        scope.close()
