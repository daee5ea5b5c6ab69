# One image for web, worker, beat and sandbox (docker-compose.yml picks the command). Every portal
# process runs through scripts/production.sh, the script the production smoke test runs in CI.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml requirements.lock ./
COPY . .
RUN pip install -c requirements.lock . \
 && DJANGO_SECRET_KEY=build DJANGO_ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    CELERY_BROKER_URL=memory:// scripts/production.sh collectstatic \
 && useradd --create-home --uid 10001 portal
USER portal
EXPOSE 8000
CMD ["scripts/production.sh", "web"]
