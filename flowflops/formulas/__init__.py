"""Per-op formulas, one file per family (and the peers' rules in ``peers/``), and
:mod:`~flowflops.formulas.derivation`, a formula's arithmetic kept as data. :mod:`flowflops.registry`
imports every family when it is imported, which registers them (so this package's own import
registers nothing, and the registry can import ``derivation`` from here)."""

__all__: list = []  # the modules of this folder are imported by name
