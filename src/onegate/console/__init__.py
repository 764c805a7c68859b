"""The web console at `/console`: a single-page app in plain ES modules, served from this package's
`static/` directory, that talks to the management API (`/admin/api/v1/…`) with the session cookie."""
