#!/bin/sh
# The portal's production processes, one subcommand each. The Dockerfile (collectstatic at build
# time, web by default), docker-compose.yml (migrate, web, worker, beat) and the production smoke
# test (tests/portal/test_production.py) all run this script, so they cannot drift apart.
# Settings come from the environment (README "Configuration"); python, gunicorn and celery from PATH.
set -eu
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-portal.settings.production}"

case "${1:-}" in
  collectstatic)   # hashed, compressed copies and their manifest in STATIC_ROOT
    exec python manage.py collectstatic --no-input -v 1 ;;
  check)           # Django's deployment checklist; any warning fails
    exec python manage.py check --deploy --fail-level WARNING ;;
  migrate)         # refuses a misconfigured deployment (errors), then migrates
    python manage.py check --deploy
    exec python manage.py migrate --no-input ;;
  web)
    exec gunicorn portal.wsgi --bind "${WEB_BIND:-0.0.0.0:8000}" --workers "${WEB_WORKERS:-3}" --threads 4 \
      --access-logfile - ;;
  worker)
    exec celery -A portal worker --loglevel INFO --concurrency "${WORKER_CONCURRENCY:-4}" ;;
  beat)
    exec celery -A portal beat --loglevel INFO --schedule "${BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" ;;
  *)
    echo "usage: $0 collectstatic|check|migrate|web|worker|beat" >&2
    exit 2 ;;
esac
