"""Property-based fuzzing of every route (Hypothesis); see tests/fuzz/conftest.py for the profiles."""
