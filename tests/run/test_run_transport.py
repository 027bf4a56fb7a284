"""What keeps the hosted path fast: sniffio for httpx, and no LiteLLM import when the cache
answers everything."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

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
        # transport: litellm, so that the first run does import it (an openai/ model on the
        # default route never does, tests/run/test_direct_route.py).
        exp = write_experiment(tmp_path, server.url, limit=3, model_extra="transport: litellm")
        outputs = [
            subprocess.run([sys.executable, "-c", code, str(exp), str(tmp_path / "results")],
                           capture_output=True, text=True, env=env, timeout=120)
            for _ in range(2)
        ]
    assert [o.returncode for o in outputs] == [0, 0], outputs[0].stderr[-2000:]
    assert outputs[0].stdout.split()[-1] == "True"  # the first run called the model
    assert outputs[1].stdout.split()[-1] == "False"  # the second was served from the cache
    assert len(server.received) == 6


def test_report_libraries_are_prefetched_only_while_waiting_on_a_model(
    tmp_path: Path, add_task: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness
    import harness.report

    calls: list[int] = []
    monkeypatch.setattr(harness.report, "prefetch_modules", lambda: calls.append(1))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=3)
        for _ in range(2):
            harness.run(exp, results_dir=tmp_path / "results", reports_dir=tmp_path / "rep",
                        quiet=True)
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True,
                    cache=False)
    # Once in the first run (fresh answers); never in the re-run served from the cache, nor
    # in a run that writes no report.
    assert calls == [1]
    assert len(server.received) == 12


def test_report_libraries_are_not_prefetched_beside_a_local_model() -> None:
    from types import SimpleNamespace

    import harness.report
    from harness.api import report_prefetcher
    from harness.config import ModelConfig

    def plan(*models: str) -> object:
        return SimpleNamespace(models={m: ModelConfig(model=m) for m in models})

    assert report_prefetcher(plan("openai/gpt-4o-mini")) is harness.report.prefetch_modules
    assert report_prefetcher(plan("hf/smollm2-135m-instruct")) is None
    assert report_prefetcher(plan("openai/gpt-4o-mini", "hf/smollm2-135m-instruct")) is None


def test_prefetching_imports_what_the_report_needs() -> None:
    code = ("import sys, time; from harness.report import prefetch_modules, REPORT_MODULES; "
            "prefetch_modules(); time.sleep(0.1); "
            "[__import__('threading').enumerate()[-1].join(60)]; "
            "print(all(m in sys.modules for m in REPORT_MODULES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split()[-1] == "True", out.stderr[-2000:]


def test_prefetching_waits_while_the_process_is_busy() -> None:
    """Beside a model that answers at once the event loop keeps a core busy, and imports in a
    thread would take the GIL from it (slower, not faster): the prefetch waits for a quiet
    interval, then imports."""
    code = ("import sys, time; from harness.report import prefetch_modules, REPORT_MODULES; "
            "assert 'pandas' not in sys.modules; "
            "prefetch_modules(); t = time.perf_counter(); "
            "exec('while time.perf_counter() - t < 1.2: pass'); "
            "print('busy', 'pandas' in sys.modules); "
            "[__import__('threading').enumerate()[-1].join(60)]; "
            "print('quiet', all(m in sys.modules for m in REPORT_MODULES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split()[-4:] == ["busy", "False", "quiet", "True"], out.stderr[-2000:]
