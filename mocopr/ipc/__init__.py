"""Plumbing between the processes of a multiprocess server: the supervisor, the acceptor and the workers.

- ``control``: msgpack messages, with file descriptors attached, on a SOCK_SEQPACKET socketpair
  (connection hand-off, drain, reload, stop).
- ``load_table``: one shared-memory slot per worker that the worker writes and everyone reads
  (choosing a worker, judging health, metrics).
- ``ring``: single-producer single-consumer byte rings in shared memory with eventfd wake-ups
  (requests forwarded to the worker that owns a session, broadcasts).

Everything here waits through trio without blocking the loop. The supervisor creates and unlinks every
shared-memory segment; the others attach (``shm`` keeps them from unlinking what they did not create).
``fds`` holds the descriptor chores the channel and the rings share.
"""
