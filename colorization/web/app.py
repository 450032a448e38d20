"""The web page and REST API as one ASGI app: the routers of each part around one WebService.

`create_app(model, settings)` builds it around a Colorizer, the ColorizerSettings to load one from (the command's
options) or a loader, so the command serves the release model and the tests the tiny one; `app_for(service)` builds
it around a service the caller keeps (to watch its queue, say). The routes live in their routers (static_routes,
api_routes, photo_routes, film_routes), auth.py decides who may use them and errors.py how a failure is answered:
this module only puts them together.
"""

from __future__ import annotations

from fastapi import FastAPI

from .api_routes import ApiRoutes
from .auth import AccessGuard
from .errors import add_error_handlers
from .film_routes import FilmRoutes
from .photo_routes import PhotoRoutes
from .service import ModelSource, WebService, WebSettings
from .static_routes import StaticRoutes


def create_app(model: ModelSource, settings: WebSettings | None = None) -> FastAPI:
    """The app around a Colorizer, its settings, or a loader (see WebService.load): a model that cannot be loaded
    (files missing) is shown by the page and the API instead of stopping the server."""
    return app_for(WebService.load(model, settings))


def app_for(service: WebService) -> FastAPI:
    app = FastAPI(
        title="Colorize black-and-white photos",
        description="Zhang et al.'s Colorful Image Colorization, served from this machine. Errors are JSON "
        '`{"error": "..."}`.',
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=service.running,
    )
    app.middleware("http")(AccessGuard(service.settings.token, service.settings.allowed_hosts))
    add_error_handlers(app)
    for routes in (FilmRoutes(service), StaticRoutes(app.openapi), ApiRoutes(service), PhotoRoutes(service)):
        app.include_router(routes.router())
    return app
