"""`augurdb serve`: the MySQL and HTTP servers over one instance, in one event loop."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from augurdb.config import Settings
from augurdb.instance import Instance
from augurdb.server.http.app import create_app
from augurdb.server.mysql import MySQLServer

log = logging.getLogger("augurdb")


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM."""
    settings.check_safe_to_serve()
    instance = Instance(settings)
    mysql = MySQLServer(lambda user: instance.session(user=user), host=settings.host, port=settings.mysql_port,
                        user=settings.user, password=settings.password)
    await mysql.start()
    http = uvicorn.Server(uvicorn.Config(create_app(instance), host=settings.host, port=settings.http_port,
                                         log_level="warning", lifespan="off"))
    http_task = asyncio.create_task(http.serve())
    log.info("augurdb listening: MySQL %s:%s, HTTP %s:%s, data in %s", settings.host, mysql.port,
             settings.host, settings.http_port, instance.data_dir)
    print(f"augurdb ready: mysql -h {settings.host} -P {mysql.port} -u {settings.user or 'augur'}  |  "
          f"http://{settings.host}:{settings.http_port}/docs  |  data: {instance.data_dir}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([http_task, waiter], return_when=asyncio.FIRST_COMPLETED)
    http.should_exit = True
    await mysql.close()
    await http_task
    instance.close()
