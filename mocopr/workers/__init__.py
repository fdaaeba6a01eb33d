"""The worker process: adopt connections handed over by the acceptor, serve them, heartbeat, drain."""
