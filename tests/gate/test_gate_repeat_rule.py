"""``--min-pass-repeats K/N``: every item of a cell must pass K of N repeats."""

from __future__ import annotations

import json
from pathlib import Path

from gate_synthetic import write_run

from harness.cli import main

N = 40


def _scores(special: dict[int, list[float]], epochs: int) -> list[list[float]]:
    return [special.get(i, [1.0] * epochs) for i in range(N)]


def _check(tmp_path: Path, run: Path, *extra: str) -> tuple[int, dict]:
    base = write_run(tmp_path, "base", {"a": _scores({}, 10)})
    baseline = tmp_path / "b.json"
    assert main(["baseline", "save", str(base), "--to", str(baseline)]) == 0
    out = tmp_path / f"check-{run.name}.json"
    code = main(["check", "--run", str(run), "--baseline", str(baseline), "--json", str(out),
                 *extra])
    return code, json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}


def test_an_item_passing_too_rarely_fails_the_cell(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    flaky = [1.0] * 5 + [0.0] * 5
    run = write_run(tmp_path, "now", {"a": _scores({3: flaky}, 10)})
    code_plain, _ = _check(tmp_path, run)
    assert code_plain != 1  # 1.25 points lower on average: no regression by the mean
    capsys.readouterr()
    code, data = _check(tmp_path, run, "--min-pass-repeats", "8/10")
    assert code == 1
    cell = data["cells"][0]
    assert cell["status"] == "fail"
    assert any("i003 (5/10)" in r and "fewer than 8 of 10" in r for r in cell["reasons"])
    assert data["settings"]["min_pass_repeats"] == "8/10"
    assert "i003 (5/10)" in capsys.readouterr().out


def test_every_item_passing_keeps_the_verdict(tmp_path: Path) -> None:
    run = write_run(tmp_path, "now", {"a": _scores({3: [1.0] * 8 + [0.0] * 2}, 10)})
    plain, _ = _check(tmp_path, run)
    code, data = _check(tmp_path, run, "--min-pass-repeats", "8/10")
    assert code == plain
    assert any("every item passed at least 8 of 10" in n for n in data["cells"][0]["notes"])


def test_fewer_repeats_than_the_rule_asks(tmp_path: Path) -> None:
    # 7 repeats: i000 with 1 failure could still reach 8 of 10 -> inconclusive (exit 3) ...
    undecided = write_run(tmp_path, "few", {"a": _scores({0: [1.0] * 6 + [0.0]}, 7)})
    code, data = _check(tmp_path, undecided, "--min-pass-repeats", "8/10")
    assert code == 3 and data["cells"][0]["status"] == "inconclusive"
    assert any("i000 (6/7)" in n and "run at least 10 epochs" in n
               for n in data["cells"][0]["notes"])
    # ... while 3 failures out of 7 already break it: a fail, whatever the missing repeats say
    broken = write_run(tmp_path, "broken", {"a": _scores({0: [1.0] * 4 + [0.0] * 3}, 7)})
    code, data = _check(tmp_path, broken, "--min-pass-repeats", "8/10")
    assert code == 1 and "i000 (4/7)" in " ".join(data["cells"][0]["reasons"])


def test_bad_rule_is_bad_input(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run = write_run(tmp_path, "now", {"a": _scores({}, 10)})
    code, _ = _check(tmp_path, run, "--min-pass-repeats", "11/10")
    assert code == 2
    assert "--min-pass-repeats" in capsys.readouterr().err


pytest_plugins = ["pytester"]


def test_pytest_fixture_takes_the_rule(tmp_path: Path, pytester) -> None:  # type: ignore[no-untyped-def]
    from importlib.metadata import entry_points

    base = write_run(tmp_path, "base", {"a": _scores({}, 10)})
    baseline = tmp_path / "b.json"
    assert main(["baseline", "save", str(base), "--to", str(baseline)]) == 0
    run = write_run(tmp_path, "now", {"a": _scores({3: [1.0] * 5 + [0.0] * 5}, 10)})
    pytester.makepyfile(f'''
def test_each_item(harness_check):
    harness_check(run={str(run)!r}, baseline={str(baseline)!r}, min_pass_repeats="8/10")
''')
    installed = any(e.value == "harness.pytest_plugin" for e in entry_points(group="pytest11"))
    result = pytester.runpytest_subprocess(*([] if installed else ["-p", "harness.pytest_plugin"]))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAIL*", "*passed fewer than 8 of 10 repeats*i003 (5/10)*"])
