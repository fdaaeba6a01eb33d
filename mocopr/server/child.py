"""The entry point of the supervisor's child processes (acceptor and workers).

The supervisor starts ``python -m mocopr.server.child SPEC`` where SPEC is
JSON naming the role, the effective configuration file the supervisor
validated, and the descriptors the child inherited.
"""

import json
import logging
import sys

from mocopr.config import load_config
from mocopr.server.acceptor import run_acceptor
from mocopr.workers.worker import WorkerSpec, run_worker


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    config = load_config(spec["config"], env={}, flags={})
    role = spec["role"]
    name = "acceptor" if role == "acceptor" else f"worker {spec['slot']}"
    logging.basicConfig(
        stream=sys.stderr,
        level=config.server.log_level.upper(),
        format=f"%(asctime)s %(levelname)s [{name}] %(name)s: %(message)s",
    )
    if role == "acceptor":
        run_acceptor(config, spec["listen_fds"], spec["supervisor_fd"], spec["table"], spec["slots"])
    else:
        worker = WorkerSpec(
            slot=spec["slot"],
            generation=spec["generation"],
            cpu=spec["cpu"],
            acceptor_fd=spec["acceptor_fd"],
            supervisor_fd=spec["supervisor_fd"],
            table_name=spec["table"],
            table_slots=spec["slots"],
            metrics_name=spec["metrics"],
            rings=[tuple(ring) for ring in spec["rings"]],
        )
        run_worker(worker, config)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
