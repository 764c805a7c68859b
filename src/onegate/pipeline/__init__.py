"""The hot path, one module a step: authenticate → admit → route → forward → record."""
