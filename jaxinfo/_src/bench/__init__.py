"""Benchmark support: timers, the progress bar, reference implementations, the bench runner.

One home for what ``jaxinfo bench``, the scripts in ``benchmarks/`` and the trainer's progress
bar share. Importing this package loads nothing beyond the standard library; its modules
import what they need.
"""
