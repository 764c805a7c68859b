"""Channel health: breakers, cool-downs, concurrency caps and probes, shared across instances via Redis."""
