"""The graph engine: compile to ``nn.Graph`` (no execution) and read the job's ops; and a
parser for printed graphs."""
