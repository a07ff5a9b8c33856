"""Benchmarks of the course (``make bench``): lessons, widgets, cells, complexity."""
