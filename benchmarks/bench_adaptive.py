"""Adaptive concurrency against a provider with a secret limit on requests in flight.

One command::

    .venv/bin/python benchmarks/bench_adaptive.py          # K=5, 50 ms, 200 samples, cap 32

The loopback server (``python -m harness.testing.loopback --concurrency-limit K``, a process
of its own) answers 429 with ``Retry-After`` to any request arriving while K are in flight,
and takes ``--latency`` to answer the others. Two runs of the same experiment (``--no-cache``,
``--quiet``, ``harness.run`` in this process, LiteLLM already imported by a warm-up run):

- ``told``: the model's ``max_concurrency`` is K, the right answer, so nothing is refused;
- ``adaptive``: ``max_concurrency`` is the cap (32); the harness has to find K by itself.

Each is repeated ``--repeat`` times; it prints the wall times, the ratio adaptive / told (the
target from issue 13: at most 1.2), the 429s the adaptive run was answered, its failed
samples (must be 0) and its limit at the end. On a shared machine the figures are noisy:
compare the ratio within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

KEY_ENV = "BENCH_API_KEY"


def write_experiment(root: Path, url: str, samples: int, cap: int, name: str) -> Path:
    task = root / "tasks" / "add"
    (task / "data").mkdir(parents=True, exist_ok=True)
    (task / "data" / "test.jsonl").write_text("".join(
        json.dumps({"id": f"t{i}", "a": i, "b": 2 * i + 1}) + "\n" for i in range(samples)))
    (task / "task.yaml").write_text(
        "name: add\ndata: {test: data/test.jsonl}\n"
        "input: 'What is {{ a }} + {{ b }}?'\ntarget: '{{ a + b }}'\n"
        "instructions: Add the two numbers.\nanswer_format: Reply with the number only.\n"
        "parser: [last_number]\nscorers: [numeric]\n")
    path = root / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ntasks: [add]\nvariants: [zero-shot]\n"
        f"models:\n  - {{model: openai/test-model, api_base: '{url}/v1', "
        f"api_key_env: {KEY_ENV}, max_tokens: 16, max_concurrency: {cap}}}\n"
        f"concurrency: {max(cap, 32)}\ncache: false\n")
    return path


def stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_stats") as response:
        return json.loads(response.read())


def one_run(path: Path, root: Path) -> tuple[float, int, str]:
    """Wall seconds, failed samples, and the last progress line's limit."""
    import io

    import harness
    from harness import progress as progress_module

    lines = io.StringIO()
    original = progress_module.Progress.__init__

    def patched(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.update(stream=lines, quiet=False, tty=False, interval=3600.0)
        original(self, *args, **kwargs)

    progress_module.Progress.__init__ = patched  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        samples = harness.run(path, results_dir=root / "results", reports_dir=None)
        wall = time.perf_counter() - started
    finally:
        progress_module.Progress.__init__ = original  # type: ignore[method-assign]
    last = lines.getvalue().strip().splitlines()[-1]
    limit = last.rsplit("conc=", 1)[-1] if "conc=" in last else "?"
    return wall, int(samples["error"].notna().sum()), limit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", type=int, default=5, help="the server's limit K")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--retry-after", type=float, default=0.05)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--cap", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--decrease", type=float,
                        help="the limiter's cut factor, to compare with the default (0.75)")
    args = parser.parse_args()
    if args.decrease is not None:
        from harness.models.adaptive import AdaptiveLimit

        AdaptiveLimit.__init__.__kwdefaults__["decrease"] = args.decrease
    os.environ.setdefault(KEY_ENV, "sk-bench-adaptive-000000")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ["HARNESS_CACHE_DIR"] = str(root / "cache")
        server = subprocess.Popen(
            [sys.executable, "-m", "harness.testing.loopback", "--latency", str(args.latency),
             "--retry-after", str(args.retry_after), "--concurrency-limit", str(args.secret)],
            stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split()[-1]
            told = write_experiment(root, url, args.samples, args.secret, "told")
            adaptive = write_experiment(root, url, args.samples, args.cap, "adaptive")
            one_run(told, root)  # warm-up: imports, LiteLLM's first call
            times: dict[str, list[float]] = {"told": [], "adaptive": []}
            for _ in range(args.repeat):
                for name, path in (("told", told), ("adaptive", adaptive)):
                    before = stats(url)["statuses"].get("429", 0)
                    wall, failed, limit = one_run(path, root)
                    refused = stats(url)["statuses"].get("429", 0) - before
                    times[name].append(wall)
                    print(f"{name:>8}: {wall:6.2f} s  failed={failed}  429s={refused}  "
                          f"limit at end={limit}")
        finally:
            server.terminate()
            server.wait(10)
    told_s, adaptive_s = statistics.median(times["told"]), statistics.median(times["adaptive"])
    ideal = args.samples / args.secret * args.latency
    print(f"\nmedian told {told_s:.2f} s, adaptive {adaptive_s:.2f} s (ideal {ideal:.2f} s): "
          f"ratio {adaptive_s / told_s:.2f} (target <= 1.20)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
