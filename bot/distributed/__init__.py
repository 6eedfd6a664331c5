"""Running on several machines: Celery on a broker (Redis), PostgreSQL as the system of record.

Selected by `CSPM_BROKER_URL`; without it nothing here is imported and the bot runs as one
process group (the embedded default: SQLite, in-process pool and worker, no broker).

- `bot.distributed.celeryapp`: the Celery app built from the settings (queues, acks after the
  work, visibility timeout, JSON only, thread pools).
- `bot.distributed.relay`: the serving process's side of post-ack Slack work: each
  `WorkItem` is Fernet-encrypted with the project's key and enqueued on queue ``slack``.
- `bot.distributed.dispatch`: the scan engine's `JobDispatcher` on queue ``scans``.
- `bot.distributed.tasks`: what a worker runs (one Runtime and one Bolt app per worker
  process).
- `bot.distributed.worker`: ``cspm-bot worker`` (one Celery worker process per queue).
- `bot.distributed.health`: the broker and the workers seen, for ``/healthz``.
"""
