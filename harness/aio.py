"""Running the harness's event loop so that a crash or Ctrl-C can never leave the process stuck.

``asyncio.run`` closes its loop by waiting for every thread of the loop's default executor to
finish. After a crash, one of them may be in the middle of a model call (a local model's
``generate``, a blocking LiteLLM call) that takes minutes or never returns, and the process
would hang instead of exiting. On the error path this runner tells the executor to stop without
waiting; its threads die with the process. On success it waits as ``asyncio.run`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, except that a failure does not wait on executor threads."""
    if not hasattr(asyncio, "Runner"):  # Python 3.10: no runner to hold on to
        return asyncio.run(coro)
    runner = asyncio.Runner()
    try:
        return runner.run(coro)
    except BaseException:
        loop = runner.get_loop()
        # asyncio keeps the default executor in a private attribute; without it (another
        # Python), the close below waits as asyncio.run would.
        executor = getattr(loop, "_default_executor", None)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
            loop._default_executor = None  # type: ignore[attr-defined]
        raise
    finally:
        runner.close()
