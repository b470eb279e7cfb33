"""`imgorigin nginx-config`: the nginx.conf of imgorigin.nginxconf, for the configured
origin."""

from __future__ import annotations

import argparse
import sys

from imgorigin import nginxconf
from imgorigin.cli.common import Commands, load_settings


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    nginx = commands.add_parser(
        "nginx-config", parents=[common], help="print an nginx.conf for the front of the origin"
    )
    nginxconf.add_arguments(nginx)
    nginx.set_defaults(handler=print_config)


def print_config(args: argparse.Namespace, argv: list[str]) -> None:
    settings = load_settings(args)
    upstream = f"{settings.server.host}:{settings.server.origin_port}"
    options = nginxconf.options_from(
        args,
        upstream,
        settings.server.data_dir,
        settings.cache.render_wait,
        settings.purge.nginx_inactive,
    )
    # The file's first line says which command made it.
    sys.stdout.write(nginxconf.render(options, nginxconf.command_line(argv)))
