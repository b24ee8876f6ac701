"""`@prov_task` and `@prov_flow`: Prefect's `@task` and `@flow`, recording W3C PROV of each run.

    from yprov_prefect import prov_task, prov_flow

Each flow run leaves one PROV-JSON document in `.yprov/<flow run id>/` (see the project README),
written before the flow returns; task runs only the Prefect API knows (undecorated tasks, cache
hits) and the summary artifact follow in a background thread that the interpreter waits for.
`settle()` waits for them in this process.
"""

from yprov_prefect.decorators import prov_flow, prov_task
from yprov_prefect.runners import ProvProcessPoolTaskRunner
from yprov_workflows.pending import settle

__all__ = ["ProvProcessPoolTaskRunner", "prov_flow", "prov_task", "settle"]
