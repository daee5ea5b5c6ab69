# One image for web, worker, beat and sandbox (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml requirements.lock ./
COPY . .
RUN pip install -c requirements.lock . \
 && DJANGO_SETTINGS_MODULE=portal.settings.production DJANGO_SECRET_KEY=build DJANGO_ALLOWED_HOSTS=build \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=memory:// python manage.py collectstatic --no-input \
 && useradd --create-home --uid 10001 portal
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
