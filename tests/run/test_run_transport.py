"""What keeps the hosted path fast: sniffio for httpx, and no LiteLLM import when the cache
answers everything."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from run_helpers import adder, write_experiment

from harness.testing.loopback import LoopbackServer


def test_sniffio_is_installed_and_detects_asyncio() -> None:
    # httpx (under the OpenAI SDK that LiteLLM drives) costs ~30% more CPU per request when
    # it has to find the async library without sniffio.
    import sniffio

    async def which() -> str:
        return sniffio.current_async_library()

    assert asyncio.run(which()) == "asyncio"


def test_a_rerun_from_the_cache_never_imports_litellm(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    code = (
        "import sys; from harness.api import run; "
        "run(sys.argv[1], results_dir=sys.argv[2], reports_dir=None, quiet=True); "
        "print('litellm' in sys.modules)"
    )
    env = {**os.environ, "HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=3)
        outputs = [
            subprocess.run([sys.executable, "-c", code, str(exp), str(tmp_path / "results")],
                           capture_output=True, text=True, env=env, timeout=120)
            for _ in range(2)
        ]
    assert [o.returncode for o in outputs] == [0, 0], outputs[0].stderr[-2000:]
    assert outputs[0].stdout.split()[-1] == "True"  # the first run called the model
    assert outputs[1].stdout.split()[-1] == "False"  # the second was served from the cache
    assert len(server.received) == 6
