"""A real-load run of a generated dispatcher: see drive.py and tests/test_load.py."""
