"""The command line: the first-class interface for operators, one module per command group."""
