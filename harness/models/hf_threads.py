"""Torch's CPU threads for the local model: how many, and how they wait.

Imported by hf_loading before torch is, so the wait policy is in place when libgomp starts.
"""

from __future__ import annotations

import os
import sys


def prefer_passive_openmp() -> None:
    """Make torch's OpenMP threads sleep, not spin, while they wait (unless the user chose).

    libgomp's default lets a thread that finished its share of an op spin before it sleeps.
    torch runs one thread per core, so on a machine with any other runnable thread (another
    process, or in this one the runner scoring and writing answers, LiteLLM's first-call
    imports, the report) a spinning thread holds a core that the thread it waits for needs,
    and every one of the thousands of small ops per step stalls for a time slice. Measured on
    the 2-core project machine with another job running (benchmarks/README.md): 48 zero-shot
    items took 23-52 s with the default policy, 7.6 s with ``PASSIVE`` and 7.5 s with one
    thread; it is why the first variant of a run (and the CLI) was erratic, not the model.

    libgomp reads the variable once, when torch is first imported: hf_loading calls this when
    it is imported, which every local-model path does before importing torch.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def apply_thread_setting() -> None:
    """``HARNESS_HF_THREADS`` sets torch's CPU threads (process-wide).

    On a machine whose cores are shared with other busy processes, 1 thread is several times
    faster than torch's default of one per core: each op waits for its slowest thread, and a
    descheduled thread stalls every op (see benchmarks/README.md). Unset: torch's default.
    """
    value = os.environ.get("HARNESS_HF_THREADS")
    if not value:
        return
    import torch

    try:
        threads = int(value)
    except ValueError:
        return
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
