import os
import sys

# Make `tests/` helper modules (models.py, snapshot.py) importable as plain modules.
sys.path.insert(0, os.path.dirname(__file__))
