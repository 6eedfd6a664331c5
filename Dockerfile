# cspm-bot: one image for the bot (`serve`) and the workers (`worker`).
#   docker build -t cspm-bot .
# compose.yaml runs it with PostgreSQL and Redis; see README → Running on several machines.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install '.[postgres]' \
    && useradd --system --uid 10001 --home-dir /data --create-home cspm

# The bot never runs as root; its data folder (SQLite, key file) is only used without
# CSPM_DATABASE_URL / CSPM_ENCRYPTION_KEY, which compose sets.
USER cspm
ENV XDG_DATA_HOME=/data
EXPOSE 3000 8080

# `cspm-bot serve --no-worker` (serving replicas) or `cspm-bot worker --queues …`
ENTRYPOINT ["cspm-bot"]
CMD ["serve", "--no-worker", "--port", "3000", "--health-port", "8080"]
