"""Small apps the tests serve for real (through gunicorn)."""
