"""Domain test settings: Hypothesis keeps its example database outside the repository root.

pyproject's `norecursedirs` replaces pytest's default ignores, so a `.hypothesis` directory in the
root makes Hypothesis warn during collection, and `filterwarnings = error` turns that into an error.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import configuration, settings

configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "pulse-hypothesis")
settings.register_profile("domain", deadline=None)
settings.load_profile("domain")
