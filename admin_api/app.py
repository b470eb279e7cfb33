"""The admin API's aiohttp app: the route table of every handler module."""

from __future__ import annotations

from aiohttp import web

from admin_api import html, images, keys, libraries, openapi, purge, stats, webhooks
from admin_api.service import ADMIN, Admin
from origin.errors import error_middleware


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_admin_app(admin: Admin) -> web.Application:
    # The upload reader enforces its own cap while streaming; aiohttp's cap would
    # only apply to request.read() and must not be lower.
    app = web.Application(
        middlewares=[error_middleware], client_max_size=admin.settings.max_upload_bytes + 65536
    )
    app[ADMIN] = admin
    app.router.add_get("/healthz", healthz)
    for module in (libraries, images, keys, purge, webhooks, stats, html, openapi):
        module.add_routes(app)
    return app
