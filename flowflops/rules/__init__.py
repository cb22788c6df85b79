"""Records -> records before pricing: users' ignore/custom rules, attention/experts sparsity."""
