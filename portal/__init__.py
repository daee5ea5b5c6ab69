"""The portal's project package and core app (teams, roles, audit log, permissions, API base)."""
from portal.celery import app as celery_app

__all__ = ["celery_app"]
