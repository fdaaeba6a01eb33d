"""Transports that carry MCP messages to and from the dispatcher: stdio, and Streamable HTTP."""
