"""Records -> records before pricing: users' ignore/custom rules, attention/experts sparsity."""

__all__: list = []  # the modules of this folder are imported by name
