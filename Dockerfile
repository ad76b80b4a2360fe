# One image for every subcycle service (workers, scheduler, API, metrics exporter).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SUBCYCLE_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md ./
COPY events ./events
COPY store ./store
COPY workers ./workers
COPY scheduler ./scheduler
COPY subcycle ./subcycle
COPY api ./api
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 subcycle
USER subcycle

ENTRYPOINT ["subcycle"]
CMD ["--help"]
