"""Hostile and mistaken config files: duplicate keys, alias bombs, typos, costly templates, and
more shots than the pool holds. Each is one line naming file, line and key, and exit 2, soon."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hostile_helpers import assert_bad_input, experiment, harness_cli

from harness.config import load_experiment, load_task
from harness.config.yaml_lines import MAX_VALUES
from harness.errors import ConfigError
from harness.testing.loopback import LoopbackServer

MODEL = "models: [openai/gpt-4o-mini]\n"


def _error(tmp_path: Path, text: str, name: str = "bad.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}:"), message
    return message.removeprefix(f"{path}:")


@pytest.mark.parametrize(("text", "expected"), [
    # PyYAML keeps the last of two equal keys; the first would be silently ignored.
    ("tasks: [add]\nmodels: [openai/a]\nvariants: [zero-shot]\nmodels: [openai/b]\n",
     "4: models: 'models' is written twice in the same mapping (lines 2 and 4)"),
    ("tasks: [add]\nvariants:\n  - name: fs\n    shots: 2\n    shots: 4\n" + MODEL,
     "5: variants[0].shots: 'shots' is written twice in the same mapping (lines 4 and 5)"),
    ("tasks: [add]\nvariants: [{name: a, name: b}]\n" + MODEL,
     "2: variants[0].name: 'name' is written twice"),
])
def test_a_key_written_twice_is_an_error_naming_both_lines(tmp_path: Path, text: str,
                                                           expected: str) -> None:
    assert _error(tmp_path, text).startswith(expected)


def test_a_merge_key_override_is_not_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {shots: 2, max_tokens: 8}\ntasks: [add]\nvariants:\n"
                    "  - {<<: *b, name: fs, shots: 3}\n" + MODEL)
    with pytest.raises(ConfigError, match="base: unknown key"):  # not "written twice"
        load_experiment(path)


def _bomb(levels: int, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\ntasks: [add]\n"


@pytest.mark.parametrize("levels", [6, 10, 30])
def test_an_alias_bomb_is_refused_at_once(tmp_path: Path, levels: int) -> None:
    message = _error(tmp_path, _bomb(levels))
    assert f"more than {MAX_VALUES:,} values through YAML aliases" in message
    assert message.startswith("6:")  # 9**6 > 100,000: the first level past the limit


def test_self_referring_anchors_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    assert "recursive anchor" in _error(tmp_path, "tasks: &t [add, *t]\n")
    assert "nested too deeply" in _error(tmp_path, "tasks: " + "[" * 3000 + "]" * 3000 + "\n")


def test_a_moderate_alias_use_still_loads(tmp_path: Path, add_task: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("common: &m {max_tokens: 8}\ntasks: [add]\nvariants:\n"
                    "  - {<<: *m, name: zero-shot}\n  - {<<: *m, name: cot}\n" + MODEL)
    with pytest.raises(ConfigError, match="common: unknown key"):
        load_experiment(path)  # the alias expands; the stray anchor key is reported as usual


@pytest.mark.parametrize(("text", "expected"), [
    # A typo of a required key: the typo's line, and what it should be.
    ("tasks: [add]\nvariants: [zero-shot]\nmodles: [openai/x]\n",
     "3: modles: unknown key; did you mean 'models'?"),
    ("tasks: [add]\nvariants:\n  - nmae: x\n" + MODEL,
     "3: variants[0].nmae: unknown key; did you mean 'name'?"),
    # Two variants with one name: the second one's line.
    ("tasks: [add]\nvariants:\n  - zero-shot\n  - name: cot\n  - name: zero-shot\n" + MODEL,
     "5: variants[2].name: variant names must be unique; repeated: zero-shot (first as "
     "variants[0])"),
    ("tasks: [add]\nvariants: [zero-shot]\nmodels:\n  - openai/a\n  - openai/b\n  - openai/a\n",
     "6: models[2].model: model names must be unique"),
    ("tasks: [add]\nvariants:\n  - name: x\n    chunk_size: 10\n    chunk_overlap: 20\n" + MODEL,
     "5: variants[0].chunk_overlap: chunk_overlap must be smaller"),
    ("tasks: [add]\nvariants:\n  - {name: x, fewshot: fixed, shots: 3, fewshot_ids: [a]}\n"
     + MODEL, "3: variants[0].shots: shots: 3 but fewshot_ids lists only 1"),
    # A value of the wrong kind: what was written, and the closest allowed value.
    ("tasks: [add]\nvariants:\n  - {name: x, fewshot: randm}\n" + MODEL,
     "3: variants[0].fewshot: Input should be 'random', 'fixed' or 'similar' (got 'randm'); "
     "did you mean 'random'?"),
    ("tasks: [add]\nvariants:\n  - {name: 'my variant'}\n" + MODEL,
     "3: variants[0].name: 'my variant' is not a valid name: use letters, digits"),
    ("tasks: [add]\nvariants: [zero-shot]\nmodels: ['openai/']\n",
     "3: models[0].model: 'openai/' needs a provider and a model name"),
    # Bad bytes and values in the YAML itself.
    ("tasks: [add]\nvariants: [zero-shot]\nseed: 2024-13-45\n" + MODEL,
     "3: invalid value: month must be in 1..12"),
])
def test_messages_name_the_line_of_the_offending_text(tmp_path: Path, text: str,
                                                      expected: str) -> None:
    assert _error(tmp_path, text).startswith(expected)


def test_non_utf8_and_bom_configs(tmp_path: Path, add_task: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"tasks: [add]\ndescription: caf\xe9\n")
    with pytest.raises(ConfigError, match=rf"{latin}:2: not valid UTF-8 \(byte 0xe9"):
        load_experiment(latin)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbftasks: [add]\nvariants: [zero-shot]\n" + MODEL.encode())
    assert load_experiment(bom).tasks == ["add"]


def test_task_file_messages_point_at_the_key(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("name: t\ndata: {test: d.jsonl}\ninput: x\ntarget: y\nscorers: [numeric, "
                    "exact_match, numeric]\neval_split: dev\n")
    with pytest.raises(ConfigError, match=rf"{path}:5: scorers\[2\]: scorer 'numeric' is listed "
                                          "twice"):
        load_task(path)
    path.write_text("name: t\ndata: {test: d.jsonl}\ninput: x\ntarget: y\neval_split: dev\n")
    with pytest.raises(ConfigError, match=rf"{path}:5: eval_split: eval_split 'dev' is not"):
        load_task(path)


@pytest.mark.parametrize(("variants", "expected"), [
    # A template that is not there: the experiment's line and key, not just the name.
    ("\n  - zero-shot\n  - {name: x, template: zero-shoot}",
     "{exp}:4: variants[1].template: no prompt template named 'zero-shoot'"),
    ("\n  - {name: x, template: prompts/missing.j2}",
     "{exp}:3: variants[0].template: template file 'prompts/missing.j2' not found"),
    ("\n  - {name: x, template: few-shto}",
     "{exp}:3: variants[0].template: no prompt template named 'few-shto'"),
    # More shots than the few-shot split holds (6): an error, not a silent 6.
    ("\n  - zero-shot\n  - {name: fs, template: few-shot, shots: 12}",
     "{exp}:4: variants[1].shots: 12 shots asked for, but the few-shot split 'fewshot' of task "
     "'add' has 6 example(s)"),
])
def test_plan_errors_point_into_the_experiment(tmp_path: Path, add_task: Path, variants: str,
                                               expected: str) -> None:
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url, variants=variants)
        done, _ = harness_cli(tmp_path, "run", str(path))
        assert server.stats()["requests"] == 0
    assert_bad_input(done, expected.format(exp=path), results=tmp_path / "results")


def test_misspelt_names_get_a_suggestion(tmp_path: Path, add_task: Path) -> None:
    from harness.plan import build_plan

    path = tmp_path / "exp.yaml"
    path.write_text("tasks: [add]\nvariants:\n  - {name: x, template: few-shto}\n" + MODEL)
    with pytest.raises(ConfigError, match=r":3: variants\[0\].template: .*did you mean 'few-shot'"):
        build_plan(load_experiment(path))
    path.write_text("tasks: [ad]\nvariants: [zero-shot]\n" + MODEL)
    with pytest.raises(ConfigError, match=r":1: tasks\[0\]: task 'ad' not found.*did you mean "
                                          "'add'"):
        build_plan(load_experiment(path))


def test_shots_equal_to_the_pool_are_all_shown(tmp_path: Path, add_task: Path) -> None:
    from harness.plan import build_plan

    path = tmp_path / "exp.yaml"
    path.write_text("tasks: [add]\nvariants: [{name: fs, template: few-shot, shots: 6}]\n"
                    + MODEL)
    plan = build_plan(load_experiment(path))
    assert {sum(m["role"] == "assistant" for m in s.messages) for s in plan.samples} == {6}


def test_an_item_that_is_in_its_own_pool_cannot_get_all_the_shots(tmp_path: Path,
                                                                  add_task: Path) -> None:
    """The eval split as few-shot pool: each item must leave itself out, so 12 of 12 cannot be
    shown; the run says so instead of showing 11 while the manifest says 12."""
    from harness.plan import build_plan

    task = add_task / "task.yaml"
    task.write_text(task.read_text().replace("fewshot_split: fewshot", "fewshot_split: test"))
    path = tmp_path / "exp.yaml"
    path.write_text("tasks: [add]\nvariants:\n  - {name: fs, template: few-shot, shots: 12}\n"
                    + MODEL)
    with pytest.raises(ConfigError, match=rf"{path}:3: variants\[0\].shots: 12 shots asked for, "
                                          "but item 't0' can be shown only 11"):
        build_plan(load_experiment(path))


COSTLY = [
    "{{ 9**(10**8) }}",
    "{{ range(10**9) | list }}",
    "{{ 'x' * 10**10 }}",
    "{{ 'x' | center(10**9) }}",
    "{{ '%999999999d' % 1 }}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "{% for i in range(99999) %}{{ 'abcdefghij' * 100 }}{% endfor %}",
    "{% set s = 'ab' * 500 %}{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}"
    "{% endfor %}{% endfor %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    # Empty loops over data make no call the sandbox sees: only the timer stops them.
    "{% set s = input * 70 %}{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}"
    "{% endfor %}{% endfor %}",
]


@pytest.mark.parametrize("body", COSTLY)
def test_a_costly_template_is_stopped_promptly(tmp_path: Path, add_task: Path,
                                               body: str) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "bomb.j2").write_text("{{ input }}\n" + body + "\n")
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url, variants="[{name: b, template: bomb}]")
        done, took = harness_cli(tmp_path, "run", str(path), timeout=60)
        assert server.stats()["requests"] == 0
    assert_bad_input(done, str(prompts / "bomb.j2"), results=tmp_path / "results")
    assert took < 30


def test_a_costly_task_field_is_stopped_promptly(tmp_path: Path, add_task: Path) -> None:
    from harness.dataset import load_items

    task = add_task / "task.yaml"
    task.write_text(task.read_text().replace("target: '{{ a + b }}'",
                                             "target: '{{ (a + b) ** (10**9) }}'"))
    started = time.monotonic()
    with pytest.raises(ConfigError, match="template too costly to render"):
        load_items(load_task(add_task), "test")
    assert time.monotonic() - started < 5


def test_ordinary_template_arithmetic_still_works() -> None:
    from harness.templating import render_string

    assert render_string("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ range(3) | list }} {{ '%05d' % 42 }} "
                         "{{ 'x' | center(5) }}|", {}) == "1024 ababab [0, 1, 2] 00042   x  |"


def test_template_front_matter_is_checked_like_a_config(tmp_path: Path) -> None:
    from harness.prompting import load_template

    path = tmp_path / "t.j2"
    path.write_text("{#---\nreasoning: true\nreasoning: false\n---#}\n{{ input }}\n")
    with pytest.raises(ConfigError, match=rf"{path}:3: reasoning: 'reasoning' is written twice"):
        load_template(path)
    path.write_text("{#---\n- a\n---#}\n{{ input }}\n")
    with pytest.raises(ConfigError, match="front matter must be keys and values"):
        load_template(path)
    path.write_bytes(b"{{ input }} caf\xe9\n")
    with pytest.raises(ConfigError, match=rf"{path}:1: not valid UTF-8"):
        load_template(path)
