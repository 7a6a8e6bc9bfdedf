"""Pure measurement engine: item bank, scoring, statistics, disclosure control and the report model.

Nothing here performs I/O, reads the clock or touches the database; every input arrives as plain data.
"""

from __future__ import annotations
