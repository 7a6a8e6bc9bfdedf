from __future__ import annotations

from tests.workers.fixtures import pg_worker_settings, private_redis

__all__ = ["pg_worker_settings", "private_redis"]
