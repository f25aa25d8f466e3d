"""``cgpo serve --judge math|instructions|code|CONFIG.yaml``: a judge as an HTTP reward server.

FastAPI + uvicorn (``pip install 'cgpo[serve]'``); the endpoints are described in
:mod:`cgpo.integrations.server`. It listens on 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from cgpo.errors import ConfigError
from cgpo.judges.base import Judge


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--judge",
        required=True,
        metavar="NAME|CONFIG.yaml",
        help="a judge name (math, instructions, code, ...) or a YAML judge config "
        "(a mapping with a 'type', or a list of them for a Mixture of Judges)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    parser.add_argument(
        "--error-reward",
        type=float,
        default=0.0,
        help="/get_reward's reward for a sample the judge could not decide (default 0.0)",
    )


def load_judge(spec: str) -> Judge:
    from cgpo.judges.registry import available_judges, from_config, make_judge

    if not spec.endswith((".yaml", ".yml")):
        if spec not in available_judges():
            raise ConfigError(
                f"--judge: {spec!r} is neither a judge name ({', '.join(available_judges())}) "
                "nor a .yaml config"
            )
        return make_judge(spec)
    import yaml

    try:
        raw = yaml.safe_load(Path(spec).read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"--judge: cannot read {spec}: {e.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"--judge: {spec} is not valid YAML: {e}") from None
    return from_config(raw)


def bind(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}")
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    return sock


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from cgpo.integrations.server import create_app
    except ImportError as e:
        raise ConfigError(
            f"cgpo serve needs FastAPI and uvicorn ({e}): pip install 'cgpo[serve]'"
        ) from e

    judge = load_judge(args.judge)
    app = create_app(judge, error_reward=args.error_reward)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(
        f"cgpo serve: judge {judge.name!r} on http://{host}:{port} "
        "(GET /health, POST /judge, POST /get_reward)",
        file=sys.stderr,
        flush=True,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    server.run(sockets=[sock])
    return 0
