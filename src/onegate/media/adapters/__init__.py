"""Upstream video task APIs behind one small interface (base.py): submit, poll, fetch content, cancel."""
