"""Usage, prices and cost."""
