"""The scoring stage on its own: async scorers awaited with bounded concurrency, what a scorer
may return, and the hook through which other scorer types (judges, RAG metrics) plug in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from scoring_helpers import N_ITEMS, careful_adder, write_project

import harness
from harness.scoring.record import SampleRecord
from harness.scoring.registry import _TYPES, ScorerSpec, ScoringContext, register_scorer_type
from harness.scoring.score import Score
from harness.scoring.stage import ScoringStage, StageScorer
from harness.testing.loopback import LoopbackServer


def _record(n: int, output: str | None = "The answer is 4.", **kw: object) -> SampleRecord:
    return SampleRecord(run_id="r", sample_id=f"s{n}", task="t", variant="v", model="m",
                        model_id="m", item_id=f"i{n}", epoch=0, input="2+2?", target="4",
                        output=output, **kw)  # type: ignore[arg-type]


def _stage(*fns: object, concurrency: int = 3) -> ScoringStage:
    scorers = [StageScorer(spec=ScorerSpec(name=getattr(f, "__name__", "f"), type="python"),
                           fn=f) for f in fns]  # type: ignore[arg-type]
    return ScoringStage({("t", "v"): lambda text: text.rsplit(" ", 1)[-1].rstrip(".")},
                        {"t": scorers}, concurrency=concurrency)


def test_async_scorers_are_awaited_at_most_concurrency_at_a_time() -> None:
    state = {"now": 0, "most": 0}

    async def slow(record: SampleRecord) -> Score:
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1
        return Score(value=float(record.answer == record.target), explanation="slow judge")

    stage = _stage(slow, concurrency=3)
    results = asyncio.run(stage.score_all([_record(n) for n in range(20)]))
    assert [r.scores for r in results] == [{"slow": 1.0}] * 20
    assert results[0].details == {"slow": {"explanation": "slow judge"}}
    assert state["most"] == 3  # bounded, and actually concurrent


def test_what_a_scorer_may_return() -> None:
    def several(record: SampleRecord) -> dict:
        return {"a": True, "b": 0.25, "c": None,
                "d": {"value": 1, "explanation": "why", "metadata": {"raw": "PASS"}}}

    scored = _stage(several).score_sync(_record(0))
    assert scored.error is None and scored.answer == "4"
    assert scored.scores == {"a": 1.0, "b": 0.25, "c": None, "d": 1.0}
    assert scored.details == {"d": {"explanation": "why", "metadata": {"raw": "PASS"}}}

    for bad, message in ((7, "scores are on a 0-1 scale"), ("high", "returned str"),
                         (float("nan"), "0-1 scale"), ({}, "empty mapping")):
        def scorer(record: SampleRecord, bad: object = bad) -> object:
            return bad

        got = _stage(scorer).score_sync(_record(0))
        assert got.scores == {} and message in str(got.error), (bad, got.error)
        assert got.error is not None and got.error.endswith("(in scorer 'scorer')")


def test_a_failed_call_is_not_scored_and_a_parser_error_is_a_scoring_error() -> None:
    def never(record: SampleRecord) -> float:
        raise AssertionError("a failed call must not be scored")

    assert _stage(never).score_sync(_record(0, output=None, error="HTTP 500")).scores == {}
    stage = _stage(lambda r: 1.0)
    stage.parsers[("t", "v")] = lambda text: text[10**9]
    got = stage.score_sync(_record(1))
    assert got.error == "IndexError: string index out of range (in the parser)"


@pytest.fixture
def echo_type():  # type: ignore[no-untyped-def]
    """A scorer type registered from outside the stage, as the judges' will be."""
    seen: list[ScoringContext] = []

    def build(spec: ScorerSpec, context: ScoringContext):  # type: ignore[no-untyped-def]
        seen.append(context)
        want = spec.args["contains"]

        async def score(record: SampleRecord) -> Score:
            await asyncio.sleep(0)
            return Score(value=float(want in (record.output or "")),
                         metadata={"client": context.client is not None})

        return score

    def check(spec: ScorerSpec, task_file: Path) -> None:
        if not isinstance(spec.args.get("contains"), str):
            raise ValueError("contains: must be a string")

    register_scorer_type("contains", build, check=check, kind=lambda spec: "binary")
    yield seen
    _TYPES.pop("contains", None)


def test_other_scorer_types_plug_in_through_the_registry(
        tmp_path: Path, key: str, echo_type: list) -> None:  # type: ignore[type-arg]
    with LoopbackServer(careful_adder) as server:
        exp = write_project(tmp_path, server.url,
                            scorers="[numeric, {name: stepped, contains: 'Step 9'}]")
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
    assert samples["score_stepped"].tolist() == [1.0] * (2 * N_ITEMS)
    assert echo_type and echo_type[0].client is not None  # built with the run's client stack
    scorers = samples.attrs["manifest"]["scorers"]["add"]
    assert scorers[1] == {"name": "stepped", "kind": "binary", "type": "contains"}


def test_a_bad_entry_of_a_registered_type_is_refused_at_load(
        tmp_path: Path, echo_type: list) -> None:  # type: ignore[type-arg]
    from harness.config import load_task
    from harness.errors import ConfigError

    write_project(tmp_path, "http://127.0.0.1:9", scorers="[{name: stepped, contains: 3}]")
    with pytest.raises(ConfigError) as caught:
        load_task(tmp_path / "tasks" / "add")
    assert str(caught.value).endswith("task.yaml:7: scorers[0]: contains: must be a string")
