"""Running the service: one process, or N worker processes sharing the ports.

By default one worker per available CPU (imgorigin/machine.py); with one, the
process serves alone. With several, the parent resolves the database (starting the embedded
PostgreSQL once, for all), migrates, and spawns N workers. Each worker has its own
event loop, database pool and render pool, and binds both ports with SO_REUSEPORT,
so the kernel spreads connections over them. The parent restarts a worker that dies
and, on SIGTERM or SIGINT, passes SIGTERM on and waits for the workers to finish.

Serving processes run on uvloop: on hits of a small stored variant (wrk -t2 -c16, each
beside the asyncio loop in one run, on a quiet machine) it took the CPU per request
from 44.7 to 37.1 us with 1 worker and from 43.7 to 36.6 us with 2.

A worker (or the single process) stopping gracefully: stop accepting, let requests
in flight (and their renders) finish within a grace period, then close the pools.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import multiprocessing
import multiprocessing.process
import os
import queue
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import replace

import uvloop
from aiohttp import web
from aiohttp.log import access_logger as access_log

from admin_api.service import sweep_forever
from catalog import Catalog, Role
from imgorigin.app import Services, build_apps, database_url, open_catalog, open_services
from imgorigin.machine import fit_to_machine
from imgorigin.settings import Settings

log = logging.getLogger("imgorigin")

DEMO_LIBRARY = "demo"
DEMO_KEY_NAME = "serve --demo"


class ListenError(SystemExit):
    """A port could not be bound: a clean message, not a traceback."""

    @classmethod
    def at(cls, host: str, port: int, exc: OSError) -> ListenError:
        return cls(f"imgorigin: cannot listen on {host}:{port}: {exc.strerror}")


def check_ports_free(host: str, ports: tuple[int, ...]) -> None:
    """ListenError unless nobody holds these ports. Workers share theirs through
    SO_REUSEPORT, which would as gladly let them join another server of the same user
    on the same ports; a socket without it binds only a port that no socket holds."""
    for port in ports:
        for family, kind, proto, _, address in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp's
                try:
                    probe.bind(address)
                except OSError as exc:
                    raise ListenError.at(host, port, exc) from None


def configure_logging(settings: Settings, process: str = "") -> None:
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format=f"%(asctime)s %(levelname)s {process}%(name)s: %(message)s",
    )
    # Both log routine work at INFO (every pg_ctl command, every libvips threadpool).
    for chatty in ("pgserver", "pyvips"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def grace(settings: Settings) -> float:
    """How long a stopping process lets its requests run: one render, and some."""
    return settings.origin.render_timeout + 5


async def listen(services: Services, *, reuse_port: bool) -> tuple[list[web.AppRunner], list[str]]:
    """Start both apps; return their runners and the URLs they answer on."""
    server = services.settings.server
    origin, admin = build_apps(services)
    # The admin API always logs its (few) requests; the origin's hits only on demand.
    runners = [
        web.AppRunner(
            app,
            shutdown_timeout=grace(services.settings),
            access_log=access_log if logged else None,
        )
        for app, logged in ((origin, server.access_log), (admin, True))
    ]
    urls = []
    for runner, port in zip(runners, (server.origin_port, server.admin_port), strict=True):
        await runner.setup()
        try:
            await web.TCPSite(runner, server.host, port, reuse_port=reuse_port).start()
        except OSError as exc:
            await asyncio.gather(*(r.cleanup() for r in runners))
            raise ListenError.at(server.host, port, exc) from None
        urls.append(f"http://{server.host}:{port}")
    return runners, urls


async def create_demo_key(catalog: Catalog) -> str:
    """A fresh admin key for the demo library; the previous demo key is revoked."""
    library = await catalog.libraries.ensure(DEMO_LIBRARY)
    key, _ = await catalog.api_keys.create(library, Role.ADMIN, DEMO_KEY_NAME, replace_named=True)
    return key


def announce(urls: list[str], workers: int, demo_key: str | None) -> None:
    print(f"origin     {urls[0]}", flush=True)
    print(f"admin API  {urls[1]}", flush=True)
    print(f"workers    {workers}", flush=True)
    if demo_key:
        print(f"demo library {DEMO_LIBRARY!r}, admin key:\n{demo_key}", flush=True)


def stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def run(
    settings: Settings, on_ready: Callable[[list[str], str | None], None], demo: bool = False
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully; `on_ready` gets the URLs
    and, with `demo`, a fresh demo key. A worker of a supervisor shares the ports with
    its siblings, and also stops when the supervisor dies, so no worker of an old
    generation keeps serving on the shared port beside the next one."""
    stop = stop_event()
    supervisor = multiprocessing.parent_process()
    if supervisor is not None:
        asyncio.get_running_loop().add_reader(supervisor.sentinel, stop.set)
    async with open_services(settings) as services:
        runners, urls = await listen(services, reuse_port=supervisor is not None)
        # Only once listening: a second `make run` that finds the ports taken must not
        # revoke the running server's demo key for one it never prints.
        demo_key = await create_demo_key(services.catalog) if demo else None
        on_ready(urls, demo_key)
        interval = settings.admin.sweep_interval
        sweeper = asyncio.create_task(sweep_forever(services.admin, interval)) if interval else None
        await stop.wait()
        if sweeper is not None:
            sweeper.cancel()  # a sweep cut short leaves journal entries for the next one
            await asyncio.gather(sweeper, return_exceptions=True)
        log.info("stopping: finishing requests in flight (at most %gs)", grace(settings))
        # Both apps stop accepting at once, then wait for their requests together.
        await asyncio.gather(*(runner.cleanup() for runner in runners))


# glibc's mallopt parameter (malloc.h).
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc() -> None:
    """Keep a serving process' memory near what it uses, not what it once used.

    glibc gives each thread that allocates its own arena (up to 8 a core) and keeps
    freed memory in each; every render thread and libvips worker thread allocates
    megabytes. Two arenas: 24 concurrent 24 MP renders on 2 threads peaked at 170
    MB, not 222, for the same CPU. Fixed mmap and trim thresholds would save 10 MB
    more but cost 13% more CPU a render (every large buffer mapped afresh), so glibc
    keeps adjusting them itself. An operator's MALLOC_ARENA_MAX, or another
    allocator (jemalloc in the Dockerfile), wins. Called before any thread starts."""
    if "MALLOC_ARENA_MAX" in os.environ or "jemalloc" in os.environ.get("LD_PRELOAD", ""):
        return
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return
    mallopt(_M_ARENA_MAX, MALLOC_ARENAS)


def serve(settings: Settings, demo: bool) -> None:
    limit_malloc()
    settings = fit_to_machine(settings)
    if settings.server.workers == 1:
        uvloop.run(run(settings, lambda urls, key: announce(urls, 1, key), demo))
    else:
        Supervisor(settings, demo).run()


# Several workers


def _worker(settings: Settings, index: int, ready: multiprocessing.Queue) -> None:
    limit_malloc()
    configure_logging(settings, f"worker-{index} ")
    try:
        uvloop.run(run(settings, lambda urls, _: ready.put((index, urls))))
    except ListenError as exc:
        ready.put((index, str(exc)))
        raise


class Supervisor:
    START_TIMEOUT = 60.0

    def __init__(self, settings: Settings, demo: bool) -> None:
        self.settings = settings
        self.demo = demo
        # spawn, not fork: each worker starts clean, with no inherited event loop,
        # threads or libvips state.
        self.context = multiprocessing.get_context("spawn")
        self.ready: multiprocessing.Queue = self.context.Queue()
        self.workers: list[multiprocessing.process.BaseProcess] = []
        self.stopping = False

    def run(self) -> None:
        if 0 in (self.settings.server.origin_port, self.settings.server.admin_port):
            raise SystemExit("imgorigin: --workers needs fixed ports, not 0")
        server = self.settings.server
        check_ports_free(server.host, (server.origin_port, server.admin_port))
        asyncio.run(self._prepare())
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)
        self.workers = [self._spawn(i) for i in range(self.settings.server.workers)]
        try:
            urls = self._wait_ready()
            # As in run(): the demo key only once the workers listen.
            demo_key = asyncio.run(self._demo_key()) if self.demo else None
            announce(urls, len(self.workers), demo_key)
            self._watch()
        finally:
            self._stop_all()

    async def _prepare(self) -> None:
        """One database for all: the embedded server starts here, once, and lives as
        long as this process; the workers get its URL."""
        url = await database_url(self.settings)
        self.settings = replace(
            self.settings, catalog=replace(self.settings.catalog, database_url=url)
        )

    async def _demo_key(self) -> str:
        async with open_catalog(self.settings) as catalog:
            return await create_demo_key(catalog)

    def _spawn(self, index: int) -> multiprocessing.process.BaseProcess:
        worker = self.context.Process(
            target=_worker, args=(self.settings, index, self.ready), name=f"worker-{index}"
        )
        worker.start()
        return worker

    def _wait_ready(self) -> list[str]:
        urls: list[str] = []
        deadline = time.monotonic() + self.START_TIMEOUT
        for _ in self.workers:
            try:
                _, answer = self.ready.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit("imgorigin: workers did not start in time") from None
            if isinstance(answer, str):
                raise SystemExit(answer)
            urls = answer
        return urls

    def _watch(self) -> None:
        """Restart a worker that died, until we are told to stop."""
        while not self.stopping:
            for index, worker in enumerate(self.workers):
                if not worker.is_alive() and not self.stopping:
                    log.warning("worker-%d exited with %s; restarting it", index, worker.exitcode)
                    time.sleep(1)  # a worker that dies at start must not spin
                    self.workers[index] = self._spawn(index)
            time.sleep(0.2)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        for worker in self.workers:
            if worker.is_alive() and worker.pid is not None:
                worker.terminate()  # SIGTERM: a graceful stop
        deadline = time.monotonic() + grace(self.settings) + 5
        for worker in self.workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                log.warning("%s did not stop in time; killing it", worker.name)
                worker.kill()
                worker.join()
