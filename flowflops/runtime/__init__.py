"""Around a count: inputs, the module tree, the state guard, Ctrl-C, quiet stderr, advice."""
