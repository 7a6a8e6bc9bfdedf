"""Jobs: invitations. Thin: each job parses its ids, calls a service, logs what it did."""

from __future__ import annotations

from arq.worker import Function

#: The arq functions of this module (name, coroutine, retries); registered in workers.settings.
FUNCTIONS: list[Function] = []
