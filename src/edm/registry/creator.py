"""A model version's "Created by", which MLflow leaves empty.

MLflow's UI shows a version's ``user_id`` as "Created by", but no MLflow API sets it: the
client's create call carries no user and the SQL store writes none (an open pull request,
mlflow/mlflow#21349, would fill it). On a store edm reaches directly (SQLite, PostgreSQL)
edm writes the user who registered the version into that column, in the version's own row.
Through a tracking server (``http(s)://``) there is no way to set it: the run's
``mlflow.user`` tag, shown as the run's "Created by", names the user there.
"""

from __future__ import annotations

import logging
from typing import Any

_log = logging.getLogger(__name__)
USER_ID_LENGTH = 256  # MLflow's column: String(256)


def record_creator(client: Any, model_name: str, version: int, user: str) -> bool:
    """Write USER as the version's creator; False where the store cannot be written so."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.model_registry.dbmodels.models import SqlModelVersion
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore
    from sqlalchemy.exc import SQLAlchemyError

    store = client._get_registry_client().store
    if not isinstance(store, SqlAlchemyStore):
        return False
    try:
        with store.ManagedSessionMaker() as session:
            session.query(SqlModelVersion).filter(
                SqlModelVersion.name == model_name, SqlModelVersion.version == int(version)
            ).update({SqlModelVersion.user_id: user[:USER_ID_LENGTH]})
    except (SQLAlchemyError, MlflowException) as exc:  # the version itself is registered
        _log.warning("version %s's creator was not recorded: %s", version, exc)
        return False
    return True
