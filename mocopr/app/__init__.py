"""The API app authors write against, and the dispatch of MCP methods to it. No I/O lives here."""
