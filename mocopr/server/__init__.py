"""The multiprocess server: supervisor, acceptor, configuration, systemd glue."""
