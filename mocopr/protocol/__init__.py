"""JSON-RPC 2.0 and MCP messages, protocol versions and errors. No I/O lives here."""
