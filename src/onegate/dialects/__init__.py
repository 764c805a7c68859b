"""Wire formats ("dialects"), one package each with the same files. Pure: no I/O, no settings, no clock."""
