"""The Ray executor of `pintac sweep` (`--executor ray`): each point a Ray task of one CPU.

A task runs `sweep_points.run_point` in a worker process that exits after it (`max_calls=1`),
as the local executor's processes do, so every point starts fresh and its peak memory is its
own; results come back to this process, which appends the rows as tasks finish. Without
`--address`, a local Ray instance with `--jobs` CPUs is started and stopped with the sweep.
The problem file is read by the workers, so on a cluster it must be at the same path on
every node.
"""

from __future__ import annotations

from pintac.core.errors import UserError
from pintac.sweep_points import run_point


def execute(spec, todo, finished, *, jobs: int, address: str | None = None) -> None:
    try:
        import ray
    except ImportError:
        raise UserError(
            "error: --executor ray needs Ray: pip install -e '.[ray]' (or pip install ray)"
        ) from None
    if not todo:
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, max_calls=1)(run_point)
        pending = {
            task.remote(spec.run, str(spec.problem), point): (index, point) for index, point in todo
        }
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                index, point = pending.pop(ref)
                finished(index, point, ray.get(ref))
    finally:
        ray.shutdown()
