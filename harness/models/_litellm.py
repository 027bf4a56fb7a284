"""The one place that imports LiteLLM.

LiteLLM fetches a model price map from the internet at import time unless told not to, and
takes seconds to import. Everything in the harness that needs it goes through
:func:`import_litellm`, so the environment is always set first and ``harness --help`` never
pays for the import.
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType


@cache
def import_litellm() -> ModuleType:
    """Import LiteLLM offline and quiet, once."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.drop_params = True
    return litellm
