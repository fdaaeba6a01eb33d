"""Become another program, having first set what systemd would set for it:
variables that name its own pid (LISTEN_PID, WATCHDOG_PID) and an inherited
listening socket moved to descriptor 3. Used by tests as
``python tests/exec_shim.py [--listen-fd N] [--watchdog-pid] -- COMMAND...``."""

import os
import sys


def main(argv: list[str]) -> None:
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    if "--listen-fd" in options:
        fd = int(options[options.index("--listen-fd") + 1])
        os.dup2(fd, 3)
        os.close(fd)
        os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
    if "--watchdog-pid" in options:
        os.environ["WATCHDOG_PID"] = str(os.getpid())
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
