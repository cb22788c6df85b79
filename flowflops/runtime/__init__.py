"""Around a count: inputs, the module tree, the state guard, Ctrl-C, quiet stderr, advice, memory
limits, calling users' module hooks (module_hooks); below the engines, which import it."""

__all__: list = []  # the modules of this folder are imported by name
