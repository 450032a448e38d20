"""colorization/web/service.py: the server is started with the ColorizerSettings the command's options give, loads
its model from them, and keeps a model problem to show instead of stopping."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from colorization import Colorizer, ColorizerSettings
from colorization.commands import arguments, web
from colorization.web import WebService, WebSettings, app_for
from tests.support.log_lines import logged_lines
from tests.support.tiny_model import model_arguments

LOOPBACK = "http://127.0.0.1:8000"


class Started(Exception):
    """Raised by a stand-in for create_app: the command got as far as starting the server."""


def test_the_command_starts_the_server_with_the_settings_of_its_options(lightness_model, monkeypatch):
    from colorization.web import app

    received = []

    def start(model, settings):
        received.append((model, settings))
        raise Started

    monkeypatch.setattr(app, "create_app", start)
    argv = [
        "--no-browser",
        "--engine",
        "caffe",
        "--temperature",
        "0.5",
        "--saturation",
        "1.4",
        "--upsample",
        "bilinear",
        *model_arguments(lightness_model),
    ]
    with pytest.raises(Started):
        web.main(argv)
    ((model, settings),) = received
    assert model == arguments.colorizer_settings(arguments.parse_arguments(web.build_parser(), argv))
    assert isinstance(model, ColorizerSettings) and (model.engine, model.temperature, model.saturation) == (
        "caffe",
        0.5,
        1.4,
    )
    assert isinstance(settings, WebSettings) and settings.default_temperature == 0.5


def test_the_server_loads_its_model_from_the_settings_it_is_given(lightness_model, photos):
    settings = ColorizerSettings(**lightness_model, engine="caffe", saturation=1.4, upsample="bilinear")
    service = WebService.load(settings)
    assert service.colorizer.settings is settings and service.model_problem is None
    picture = cv2.cvtColor(cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    with TestClient(app_for(service), base_url=LOOPBACK) as client:
        response = client.post("/api/colorize?format=png", content=cv2.imencode(".png", picture)[1].tobytes())
    assert response.status_code == 200
    served = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    expected = Colorizer.load(settings).colorize(picture)
    assert np.abs(served.astype(int) - expected).max() <= 1, "the settings' colour, as colorize.py gives it"


def test_settings_whose_model_cannot_load_are_a_problem_shown_not_fatal(tmp_path):
    with logged_lines(logging.ERROR) as lines:
        service = WebService.load(ColorizerSettings(model_dir=tmp_path / "empty", download=False))
    assert service.colorizer is None and "is missing" in service.model_problem
    assert lines == [f"error: {service.model_problem} (the page says so too)"]
    with TestClient(app_for(service), base_url=LOOPBACK) as client:
        assert client.get("/api/health").json()["model_loaded"] is False


def test_a_loaded_colorizer_is_served_as_it_is(lightness_model):
    colorizer = Colorizer.load(engine="caffe", **lightness_model)
    assert WebService.load(colorizer).colorizer is colorizer
