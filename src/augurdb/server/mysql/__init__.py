"""MySQL wire-protocol server: any MySQL client (CLI, drivers, BI tools) talks to augurdb."""

from augurdb.server.mysql.contract import SessionFactory, SqlSession
from augurdb.server.mysql.server import MySQLServer

__all__ = ["MySQLServer", "SessionFactory", "SqlSession"]
