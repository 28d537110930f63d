# PeaceWatch service image: `peacewatch worker`, `peacewatch beat`, `peacewatch scan`, ...
# Build: docker build -t peacewatch .   (docker compose builds it for you; see README)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user owns nothing but its home (the embedded broker/SQLite data dir).
RUN groupadd --system --gid 10001 peacewatch \
    && useradd --system --uid 10001 --gid peacewatch --create-home --home-dir /home/peacewatch peacewatch

WORKDIR /app
# Metadata first, then the code: the code changes more often than the dependencies.
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY tasks ./tasks
RUN pip install . && rm -rf /root/.cache

USER peacewatch
# The config is mounted at /app/config (docker-compose.yml); secrets come from the env file.
ENV PEACEWATCH_CONFIG=/app/config/peacewatch.toml
ENTRYPOINT ["peacewatch"]
CMD ["--help"]
