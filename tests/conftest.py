"""Shared pytest set-up. Helper functions used by several test files live in
``tests/helpers.py`` (importable as ``helpers``: pytest puts this folder on the path for the
conftest)."""
