"""Running the sandbox over HTTP: ``serve`` (foreground, ``python -m sandbox``) and
``start_in_thread`` (tests, ``make run`` helpers)."""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.core.app import SandboxApp
from sandbox.core.engine import Config, Sandbox
from sandbox.core.events import attach_webhook
from sandbox.core.persistence import attach_state_file


def create_engine(config: Config | None = None, state_file: str | None = None) -> Sandbox:
    """An engine configured from the environment: state restored from (and saved to)
    ``SANDBOX_STATE_FILE`` when set, events delivered to the configured webhook."""
    engine = Sandbox(config or Config.from_env(), seed=False)
    attach_state_file(engine, state_file if state_file is not None else os.environ.get("SANDBOX_STATE_FILE", ""))
    attach_webhook(engine)
    return engine


def _request_handler(verbose: bool):
    from moto.moto_server.werkzeug_app import MotoRequestHandler   # keeps S3 metadata headers intact

    class SandboxRequestHandler(MotoRequestHandler):
        def log_request(self, code="-", size="-"):
            if verbose:
                super().log_request(code, size)

    return SandboxRequestHandler


def build_server(host: str, port: int, engine: Sandbox, *, verbose: bool = False) -> BaseWSGIServer:
    """A threaded HTTP/1.1 server for ``engine`` (handlers are serialised by the engine's lock)."""
    return make_server(host, port, SandboxApp(engine), threaded=True, request_handler=_request_handler(verbose))


@dataclass
class RunningServer:
    url: str
    engine: Sandbox
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_in_thread(port: int = 0, host: str = "127.0.0.1", *, engine: Sandbox | None = None,
                    config: Config | None = None, state_file: str | None = None) -> RunningServer:
    """Serve in a daemon thread; ``port=0`` picks a free port. Returns once the socket listens."""
    engine = engine or create_engine(config, state_file)
    server = build_server(host, port, engine)
    thread = threading.Thread(target=server.serve_forever, name="sandbox-server", daemon=True)
    thread.start()
    return RunningServer(f"http://{host}:{server.server_port}", engine, server, thread)


def serve(host: str, port: int, *, verbose: bool = True) -> None:
    """Serve in the foreground until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = build_server(host, port, create_engine(), verbose=verbose)
    print(f"sandbox listening on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
