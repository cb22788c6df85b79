"""Parse time of count_graph_text on pathological printed graphs (huge or deeply nested
OPERATOR lines; tests/test_graph_text.py::PATHOLOGICAL). Run on demand:
    PYTHONPATH=. .venv/bin/python benchmarks/graph_text_pathological.py
Prints the seconds per case (best of 3) with the machine's load."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from flowflops import ParseError, count_graph_text  # noqa: E402
from test_graph_text import PATHOLOGICAL  # noqa: E402


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f}")
    for i, text in enumerate(PATHOLOGICAL):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            try:
                count_graph_text(text)
            except ParseError:
                pass
            best = min(best, time.perf_counter() - start)
        print(f"case {i}: {len(text):>9,} chars  {best:.3f} s")


if __name__ == "__main__":
    main()
