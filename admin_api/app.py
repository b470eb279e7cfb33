"""The admin API's aiohttp app, routed from the route table (admin_api/routes.py)."""

from __future__ import annotations

from aiohttp import web

from admin_api.auth import NEEDED
from admin_api.openapi import ALL_ROUTES
from admin_api.service import ADMIN, Admin
from origin.errors import error_middleware


def create_admin_app(admin: Admin) -> web.Application:
    # The upload reader enforces its own cap while streaming; aiohttp's cap would
    # only apply to request.read() and must not be lower.
    app = web.Application(
        middlewares=[error_middleware], client_max_size=admin.settings.max_upload_bytes + 65536
    )
    app[ADMIN] = admin
    app[NEEDED] = {route.handler: route.role for route in ALL_ROUTES if route.role}
    for route in ALL_ROUTES:
        if route.method == "GET":  # with its HEAD twin, as aiohttp's add_get makes
            app.router.add_get(route.path, route.handler)
        else:
            app.router.add_route(route.method, route.path, route.handler)
    return app
