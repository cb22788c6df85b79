"""The graph engine: compile to ``nn.Graph`` (no execution) and read the job's ops; and a
parser for printed graphs."""

__all__: list = []  # the modules of this folder are imported by name
