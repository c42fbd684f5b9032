"""MCP: one JSON-RPC dispatcher (`dispatch.py`) behind two transports (`http.py`, `stdio.py`)."""
