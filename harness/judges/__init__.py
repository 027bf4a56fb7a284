"""Model-graded scorers (LLM-as-judge): rubric grading, pairwise preference, calibration.

- ``client``: judge calls through the run's client stack, their cost kept apart;
- ``rubrics``: Jinja2 rubric templates (built-ins in ``builtin_rubrics/``), checked at load;
- ``verdicts``: strict verdict parsing (the last ``VERDICT:``/``GRADE:``/``SCORE:`` line);
- ``grader``: a rubric judge as a scorer of a ``SampleRecord`` (judge epochs, reasoning kept);
- ``pairwise``: two variants' answers compared in both orders, rows for ``pairwise.jsonl``;
- ``calibration``: human-labelled rows graded by each judge, rows for ``calibration.jsonl``;
- ``plan`` / ``run``: an experiment's judges built, pre-rendered and wired into a run.

Nothing here is imported by ``import harness``: the package loads when a config has judges.
"""
