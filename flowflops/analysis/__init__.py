"""Results without strings: roofline, memory, ranks, diff, hardware, symbolic."""
