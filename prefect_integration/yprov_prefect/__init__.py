"""`@prov_task` and `@prov_flow`: Prefect's `@task` and `@flow`, recording W3C PROV of each run.

    from yprov_prefect import prov_task, prov_flow

Each flow run leaves one PROV-JSON document in `.yprov/<flow run id>/` (see the project README).
"""

from yprov_prefect.decorators import prov_flow, prov_task
from yprov_prefect.runners import ProvProcessPoolTaskRunner

__all__ = ["ProvProcessPoolTaskRunner", "prov_flow", "prov_task"]
