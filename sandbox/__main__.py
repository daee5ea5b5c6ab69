"""``python -m sandbox [--host 127.0.0.1] [--port 4566]``: serve the sandbox until Ctrl-C."""
import argparse
import os

from sandbox.server import serve


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="A local AWS for the ML platform portal.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "4566")),
                        help="port (default $SANDBOX_PORT or 4566)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    serve(args.host, args.port, verbose=not args.quiet)


if __name__ == "__main__":
    main()
