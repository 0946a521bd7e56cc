"""Test support: real servers (Redis, gunicorn, a misbehaving upstream) on 127.0.0.1.

Every server picks a free loopback port, runs in its own process group (or thread, for the
upstream) and is stopped by its PID when its context manager exits, so a failing test never
leaves anything running.
"""
