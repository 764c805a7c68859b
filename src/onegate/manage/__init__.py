"""The management service layer: keys, teams, prices, channels, logs, stats, alerts, admins, audit.

Plain functions over the database engine with typed inputs and outputs, each taking the `Actor` who asks:
role checks and data scoping happen here, once, for the CLI (cli/*.py) and the HTTP API (admin/api_v1/)
alike. Nothing here knows about HTTP or the terminal.
"""
