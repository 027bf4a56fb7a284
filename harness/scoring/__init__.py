"""The scoring stage: records of finished model calls in, scores out.

It sits between model calls and analysis, so a run can be scored again (a fixed parser, an
added judge) without calling the models under test again. ``record`` defines what a sample
holds (docs/samples.md); ``score`` what a scorer returns and the signature every scorer has;
``registry`` how a task file's scorer entry becomes a scorer (the hook for new scorer types:
``register_scorer_type``); ``builtin`` the string and ``module:function`` types; ``stage``
runs parsers and scorers over records; ``versions`` names and stores scorings;
``rescore`` is ``harness score``. Metric types: ``reference`` (BLEU, ROUGE), ``similarity``
(MiniLM embedding similarity), ``rag`` with ``rag_judge`` and ``rag_types`` (faithfulness,
answer relevance, context precision and recall).
"""
