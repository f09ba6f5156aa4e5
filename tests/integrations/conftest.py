"""The real PostgreSQL and MariaDB servers, one of each for every test in this folder."""

from tests.databases import mariadb_server, postgres_server

__all__ = ["mariadb_server", "postgres_server"]
