"""A fresh PostgreSQL catalog for each test: a new schema on the session's test server."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from tests.databases import DatabaseServer


def postgres_catalog_url(server: DatabaseServer) -> str:
    schema = f"catalog_{uuid.uuid4().hex[:10]}"
    with server.connect() as con:
        con.execute(f"CREATE SCHEMA {schema}")
    options = quote(f"-csearch_path={schema}")
    password = quote(server.password, safe="")
    return f"postgresql://{server.user}:{password}@{server.host}:{server.port}/{server.database}?options={options}"
