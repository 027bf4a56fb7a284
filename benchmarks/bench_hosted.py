"""The harness against bare asyncio clients on the same hosted-API workload.

One command::

    .venv/bin/python benchmarks/bench_hosted.py            # 0 ms and 200 ms server latency

It writes a task of 1,000 items and an experiment of 3 variants (zero-shot, few-shot, chain of
thought) into a temporary folder, plans it once to get the exact 3,000 chat-completion request
bodies, and starts the loopback server (``python -m harness.testing.loopback``) as a process of
its own. Then, for each latency, every client runs as a fresh subprocess, so each figure is the
whole-process wall time, interpreter start-up and imports included:

- ``aiohttp``: a bare asyncio loop over one ``aiohttp.ClientSession``, 16 in flight;
- ``httpx``: the same over one ``httpx.AsyncClient`` (``sniffio`` must be installed);
- ``litellm`` (with ``--litellm``): a bare loop over ``litellm.acompletion`` with default settings;
- ``harness``: ``harness run exp.yaml --no-cache --quiet``: plans, renders, calls the model
  (LiteLLM's OpenAI translation over the harness's aiohttp session), parses, scores, appends
  every sample and writes the report;
- ``acompletion`` (``--clients ... acompletion``): the same run with ``transport: litellm``,
  every call through ``litellm.acompletion``.

Each client also runs on ``--small`` items (default 100, i.e. 300 requests), so per-request
costs are slopes with start-up cancelled out, and the intercept is the start-up. It prints wall
and CPU seconds, the ratio to the bare aiohttp client and the overhead per request beyond it.
Figures on a shared 2-core machine are noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
KEY_ENV = "BENCH_API_KEY"
WORDS = ["good", "bad", "great", "awful", "fine", "lovely", "dull", "sharp", "clunky", "superb",
         "cheap", "sturdy", "slow", "quick", "broken", "solid"]


def write_workload(root: Path, url: str, items: int, concurrency: int,
                   transport: str = "auto") -> Path:
    """A sentiment-like task of ``items`` rows and a 3-variant experiment; returns its file."""
    rng = random.Random(0)
    task = root / "tasks" / "bench"
    (task / "data").mkdir(parents=True, exist_ok=True)

    def row(i: int) -> str:
        label = rng.choice(["positive", "negative"])
        review = " ".join(rng.choice(WORDS) for _ in range(14))
        return json.dumps({"id": f"r{i:05d}", "review": f"{review}. Overall {label}.",
                           "label": label, "rationale": f"The review ends {label}."}) + "\n"

    (task / "data" / "test.jsonl").write_text("".join(row(i) for i in range(items)))
    (task / "data" / "fewshot.jsonl").write_text("".join(row(i) for i in range(items,
                                                                                items + 20)))
    (task / "task.yaml").write_text(
        "name: bench\n"
        "data: {test: data/test.jsonl, fewshot: data/fewshot.jsonl}\n"
        "eval_split: test\nfewshot_split: fewshot\nid_field: id\n"
        'input: "{{ review }}"\ntarget: "{{ label }}"\nrationale: "{{ rationale }}"\n'
        'instructions: "Decide whether the review is positive or negative."\n'
        'answer_format: "Answer with one word: positive or negative."\n'
        "choices: [positive, negative]\n"
        "parser: [{name: choice}]\n"
        "scorers: [{name: exact_match}]\n"
    )
    experiment = root / "exp.yaml"
    experiment.write_text(
        "name: bench\ntasks: [tasks/bench]\n"
        "variants: [zero-shot, {name: few-shot, shots: 3}, cot]\n"
        f'models:\n  - {{model: openai/gpt-4o-mini, api_base: "{url}/v1", '
        f"api_key_env: {KEY_ENV}, transport: {transport}}}\n"
        f"concurrency: {concurrency}\nmax_tokens: 64\n"
    )
    return experiment


def write_requests(experiment: Path, out: Path) -> int:
    """The exact bodies the harness will send, one JSON line each, for the bare clients."""
    from harness.config import load_experiment
    from harness.plan import build_plan

    plan = build_plan(load_experiment(experiment))
    with out.open("w") as fh:
        for s in plan.samples:
            body = {"model": "gpt-4o-mini", "messages": list(s.messages), **s.params}
            fh.write(json.dumps(body) + "\n")
    return len(plan.samples)


# --- the bare clients: each runs as `python bench_hosted.py --bare NAME URL FILE N` --------

async def _drive(send, bodies: list[dict], concurrency: int) -> int:  # type: ignore[no-untyped-def]
    queue = list(reversed(bodies))
    done = 0

    async def worker() -> None:
        nonlocal done
        while queue:
            body = queue.pop()
            reply = await send(body)
            assert reply["choices"][0]["message"]["content"] is not None
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def _bare_aiohttp(url: str, bodies: list[dict], concurrency: int) -> int:
    import aiohttp

    headers = {"Authorization": f"Bearer {os.environ[KEY_ENV]}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def send(body: dict) -> dict:
            async with session.post(f"{url}/v1/chat/completions", json=body) as response:
                response.raise_for_status()
                return await response.json()

        return await _drive(send, bodies, concurrency)


async def _bare_httpx(url: str, bodies: list[dict], concurrency: int) -> int:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {os.environ[KEY_ENV]}"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as client:
        async def send(body: dict) -> dict:
            response = await client.post(f"{url}/v1/chat/completions", json=body)
            response.raise_for_status()
            return response.json()

        return await _drive(send, bodies, concurrency)


async def _bare_litellm(url: str, bodies: list[dict], concurrency: int) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    async def send(body: dict) -> dict:
        body = dict(body)
        response = await litellm.acompletion(
            model="openai/" + body.pop("model"), api_base=f"{url}/v1",
            api_key=os.environ[KEY_ENV], **body)
        return {"choices": [{"message": {"content": response.choices[0].message.content}}]}

    return await _drive(send, bodies, concurrency)


BARE = {"aiohttp": _bare_aiohttp, "httpx": _bare_httpx, "litellm": _bare_litellm}


def bare_main(name: str, url: str, file: str, concurrency: int) -> int:
    bodies = [json.loads(line) for line in Path(file).read_text().splitlines()]
    if name == "httpx":
        try:
            import sniffio  # noqa: F401  (httpx without it costs ~30% more CPU per request)
        except ImportError:
            print("warning: sniffio is not installed", file=sys.stderr)
    done = asyncio.run(BARE[name](url, bodies, concurrency))
    if done != len(bodies):
        raise SystemExit(f"{name}: {done} of {len(bodies)} requests answered")
    return 0


# --- the driver ---------------------------------------------------------------------------

def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Whole-process wall seconds and CPU seconds (user + system) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [PYTHON, "-m", "harness.testing.loopback", "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("listening on "):
        server.kill()
        raise SystemExit("loopback server did not start")
    return server, line.split()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.2],
                        help="server latencies in seconds (default 0 0.2)")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--small", type=int, default=100,
                        help="also run this many items, to split start-up from per-request cost "
                             "(0: don't)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--clients", nargs="+", default=["aiohttp", "httpx", "harness"],
                        choices=["aiohttp", "httpx", "litellm", "harness", "acompletion"])
    parser.add_argument("--litellm", action="store_true", help="also time a bare litellm loop")
    parser.add_argument("--bare", nargs=4, metavar=("NAME", "URL", "FILE", "N"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        name, url, file, n = args.bare
        return bare_main(name, url, file, int(n))

    clients = list(args.clients) + (["litellm"] if args.litellm else [])
    env = {**os.environ, KEY_ENV: "sk-bench-not-a-real-key"}
    env.pop("HARNESS_CACHE_DIR", None)
    sizes = [args.items] + ([args.small] if args.small else [])
    # results[latency][client][items] = (wall, cpu)
    results: dict[float, dict[str, dict[int, tuple[float, float]]]] = {}
    counts: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hosted-") as tmp:
        for latency in args.latency:
            server, url = start_server(latency)
            results[latency] = {c: {} for c in clients}
            try:
                for items in sizes:
                    work = Path(tmp) / f"latency-{latency}-items-{items}"
                    experiment = write_workload(work, url, items, args.concurrency)
                    write_workload(work / "acompletion", url, items, args.concurrency,
                                   transport="litellm")
                    requests = work / "requests.jsonl"
                    counts[items] = write_requests(experiment, requests)
                    for client in clients:
                        command = _command(client, experiment, url, requests, args.concurrency)
                        wall, cpu = _timed(command, work, env)
                        results[latency][client][items] = (wall, cpu)
                        print(f"latency {latency * 1000:.0f} ms, {counts[items]} requests, "
                              f"{client:8s} {wall:6.1f} s wall {cpu:6.1f} s cpu",
                              file=sys.stderr, flush=True)
            finally:
                server.terminate()
                server.wait(10)
    _print_table(results, counts, args)
    return 0


def _command(client: str, experiment: Path, url: str, requests: Path,
             concurrency: int) -> list[str]:
    if client in ("harness", "acompletion"):
        if client == "acompletion":
            experiment = experiment.parent / "acompletion" / experiment.name
        work = experiment.parent
        return [str(Path(PYTHON).parent / "harness"), "run", str(experiment), "--no-cache",
                "--quiet", "--results-dir", str(work / "results"),
                "--reports-dir", str(work / "reports")]
    this = str(Path(__file__).resolve())
    return [PYTHON, this, "--bare", client, url, str(requests), str(concurrency)]


def _print_table(results: dict, counts: dict[int, int], args: argparse.Namespace) -> None:
    n = counts[args.items]
    print(f"\n{n} requests ({args.items} items x 3 variants), {args.concurrency} in flight; "
          "whole-process wall and CPU seconds, start-up included")
    if args.small:
        print(f"per-request figures are slopes between {counts[args.small]} and {n} requests, "
              "so start-up cancels out; 'start s' is the intercept")
    print(f"\n{'latency':>8} {'client':>8} {'wall s':>7} {'cpu s':>6} {'x aiohttp':>9} "
          f"{'ms/req over':>11} {'ms/req':>7} {'cpu ms/req':>10} {'start s':>7}")
    for latency, row in results.items():
        base = row.get("aiohttp", {})
        for client, by_size in row.items():
            wall, cpu = by_size[args.items]
            ratio = over = slope = cpu_slope = start = "-"
            if args.items in base:
                ratio = f"{wall / base[args.items][0]:.2f}"
                over = f"{(wall - base[args.items][0]) / n * 1000:.2f}"
            if args.small and args.small in by_size:
                small_wall, small_cpu = by_size[args.small]
                extra = n - counts[args.small]
                per = (wall - small_wall) / extra
                slope = f"{per * 1000:.2f}"
                cpu_slope = f"{(cpu - small_cpu) / extra * 1000:.2f}"
                start = f"{small_wall - per * counts[args.small]:.1f}"
            print(f"{latency * 1000:>6.0f}ms {client:>8} {wall:>7.1f} {cpu:>6.1f} {ratio:>9} "
                  f"{over:>11} {slope:>7} {cpu_slope:>10} {start:>7}")


if __name__ == "__main__":
    sys.exit(main())
