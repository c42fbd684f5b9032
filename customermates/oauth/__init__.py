"""OAuth 2.1 front door for hosted MCP clients: metadata, sign-in and consent, tokens (docs/oauth.md)."""
