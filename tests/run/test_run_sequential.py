"""``harness run --until-decided`` and ``harness check --sequential`` against a loopback model.

The loopback "model" knows every item's label and answers by the mode its prompt names: `good`
is right except on every 7th item (86%), `bad` is right on every 4th item only (25%), `twin`
is right except on a *different* set of every 7th item (86%, same score as `good`, other
items wrong). So `good` vs `bad` is a large real difference, `good` vs `twin` none at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main

N_ITEMS = 200


def _label(i: int) -> str:
    return "odd" if i % 2 else "even"


def responder(messages: list[dict[str, str]], body: dict[str, Any]) -> str:
    text = messages[-1]["content"]
    i = int(text.rsplit("Item ", 1)[-1].split(":", 1)[0])
    right, wrong = _label(i), "even" if _label(i) == "odd" else "odd"
    if "MODE good" in text:
        return wrong if i % 7 == 0 else right
    if "MODE twin" in text:
        return wrong if i % 7 == 3 else right
    return right if i % 4 == 0 else wrong


@pytest.fixture(scope="module")
def loopback() -> Iterator[Any]:
    pytest.importorskip("aiohttp")
    from harness.testing.loopback import LoopbackServer

    with LoopbackServer(responder) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, loopback: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-not-a-key")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    task = tmp_path / "tasks" / "yn"
    (task / "data").mkdir(parents=True)
    with (task / "data" / "test.jsonl").open("w") as fh:
        for i in range(N_ITEMS):
            fh.write(json.dumps({"id": f"q{i:03d}", "text": f"Item {i}: is it odd?",
                                 "label": _label(i)}) + "\n")
    (task / "task.yaml").write_text(
        "name: yn\ndata: {test: data/test.jsonl}\ninput: \"{{ text }}\"\n"
        "target: \"{{ label }}\"\nchoices: [odd, even]\nparser: [first_line, choice]\n"
        "scorers: [exact_match]\n")
    (tmp_path / "prompts").mkdir()
    for mode in ("good", "bad", "twin"):
        (tmp_path / "prompts" / f"{mode}.j2").write_text(
            f'{{{{ role("user") }}}}\nMODE {mode}\n{{{{ input }}}}\n')
    return tmp_path


def _experiment(root: Path, variants: tuple[str, ...], name: str = "seq") -> Path:
    lines = [f"name: {name}", "tasks: [yn]", "variants:",
             *[f"  - {{name: {v}, template: {v}}}" for v in variants],
             "models: [{model: openai/loopback, name: loop, api_base: '"
             + _url(root) + "/v1'}]",
             f"cache_dir: {root / 'cache'}", "concurrency: 4", "seed: 3"]
    path = root / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _url(root: Path) -> str:
    return (root / ".url").read_text()


@pytest.fixture(autouse=True)
def _remember_url(project: Path, loopback: Any) -> None:
    (project / ".url").write_text(loopback.url)


def _manifest(root: Path) -> dict[str, Any]:
    [run_dir] = [p for p in (root / "results").iterdir() if p.is_dir() and p.name != "baselines"]
    return json.loads((run_dir / "manifest.json").read_text())


def test_run_until_decided_stops_early_balanced_and_resumable(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.results import load_run

    exp = _experiment(project, ("good", "bad"))
    code = main(["run", str(exp), "--until-decided", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    manifest = _manifest(project)
    info = manifest["stopped_early"]
    assert manifest["status"] == "stopped_early"
    assert info["items"] < N_ITEMS // 2 and info["samples"] < info["samples_planned"] == 400
    assert info["items_planned"] == N_ITEMS
    assert "good better" in info["details"][0]  # the right direction
    assert "Stopped early after" in out and "good better" in out
    samples = load_run(project / "results" / manifest["run_id"])
    items = {v: set(g["item_id"]) for v, g in samples.groupby("variant")}
    # balanced: every item the monitor counted was scored by both variants
    assert len(items["good"] & items["bad"]) >= info["items"]
    # the items are a seeded random sample, not the first rows of the file
    assert max(int(i[1:]) for i in items["good"]) > 2 * info["items"]
    report = (project / "reports" / f"{manifest['run_id']}.md").read_text()
    assert "Stopped early after" in report and "planned samples not sent" in report
    assert info["cost_so_far"] == 0 and info["estimated_full_cost"] == 0  # no priced calls
    # a stopped run is no baseline, and the fixed-size gate does not judge it (its p-values
    # assume a size fixed in advance): both refuse with exit 3 and the resume command
    run_dir = str(project / "results" / manifest["run_id"])
    assert main(["baseline", "save", run_dir, "--to", "b.json"]) == 3
    assert "status: stopped_early" in capsys.readouterr().err
    # resumable: --resume completes the run to its full size
    assert main(["run", "--resume", manifest["run_id"], "--quiet"]) == 0
    assert len(load_run(project / "results" / manifest["run_id"])) == 2 * N_ITEMS
    resumed = _manifest(project)
    assert resumed["status"] == "complete" and "stopped_early" not in resumed


def test_run_until_decided_with_equal_variants_runs_to_full_size(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = _experiment(project, ("good", "twin"))
    assert main(["run", str(exp), "--until-decided", "--quiet"]) == 0
    manifest = _manifest(project)
    assert manifest["status"] == "complete" and "stopped_early" not in manifest
    assert "Stopped early" not in capsys.readouterr().out


def _save_baseline(project: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    exp = _experiment(project, ("good",), name="base")
    assert main(["run", str(exp), "--quiet", "--reports-dir", "reports"]) == 0
    run_dir = next((project / "results").iterdir())
    path = project / "results" / "baselines" / "seq.json"
    assert main(["baseline", "save", str(run_dir), "--to", str(path)]) == 0
    capsys.readouterr()
    return path


def _check_with(project: Path, template: str) -> Path:
    """The experiment of the baseline, its one variant now rendered by ``template``."""
    path = project / "check.yaml"
    path.write_text(_experiment(project, ("good",), name="base").read_text()
                    .replace("template: good", f"template: {template}"))
    return path


def test_check_sequential_fails_early_on_a_clear_regression(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = _save_baseline(project, capsys)
    code = main(["check", str(_check_with(project, "bad")), "--baseline", str(baseline),
                 "--sequential", "--quiet", "--no-report", "--json", "check.json"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "sequential check: Stopped early after" in out
    assert "a regression larger than --max-drop (2 points) is certain" in out
    result = json.loads(Path("check.json").read_text())
    [cell] = result["cells"]
    assert cell["status"] == "fail" and cell["n_pairs"] < N_ITEMS // 2


def test_check_sequential_with_no_change_passes_early_or_at_full_size_never_fails(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = _save_baseline(project, capsys)
    # `twin` scores the same as `good` on other items: a change with no real effect
    code = main(["check", str(_check_with(project, "twin")), "--baseline", str(baseline),
                 "--sequential", "--quiet", "--no-report"])
    out = capsys.readouterr().out
    assert code != 1, out  # 0 on main; 3 (inconclusive) where non-inferiority is not shown
    assert "sequential check: not decided early" in out  # +-2 points needs far more items


def test_check_sequential_identical_prompts_pass_early(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = _save_baseline(project, capsys)
    code = main(["check", str(_check_with(project, "good")), "--baseline", str(baseline),
                 "--sequential", "--quiet", "--no-report", "--max-drop", "0.1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "every cell is shown to be no more than 10 points worse" in out


def test_stopped_early_sentence_states_the_cost_of_the_fixed_size_run() -> None:
    from harness.report.stopped import stopped_early_sentence

    manifest = {"stopped_early": {
        "reason": "every comparison was decided after 40 of 200 items", "items": 40,
        "items_planned": 200, "samples": 80, "samples_planned": 400, "cost_so_far": 0.2,
        "estimated_full_cost": 1.0}}
    text = stopped_early_sentence(manifest)
    assert text is not None
    assert text.startswith("Stopped early after 40 of 200 items (80 of 400 samples, 80% of "
                           "the planned samples not sent): every comparison was decided")
    assert "the fixed-size run would have cost about $1 ($0.2 spent)" in text
    assert stopped_early_sentence({}) is None
