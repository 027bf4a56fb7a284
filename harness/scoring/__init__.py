"""The scoring stage: records of finished model calls in, scores out.

It sits between model calls and analysis, so a run can be scored again (a fixed parser, an
added judge) without calling the models under test again. ``record`` defines what a sample
holds; ``score`` defines what a scorer returns and the signature every scorer has.
"""
