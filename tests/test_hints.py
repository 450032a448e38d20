"""Colour hints as users write them: the command line's X,Y,COLOUR, hints files, sidecars, colours, limits, and the
one-line message every mistake gets."""

import json

import cv2
import numpy as np
import pytest

from colorization.errors import UsageError
from colorization.hints import (
    MAX_HINTS,
    Hint,
    HintError,
    check_fits,
    check_inside,
    colour_ab,
    css_colours,
    hints_from_json,
    parse_colour,
    parse_hint,
    read_hints,
    sidecar_path,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("120,340,#b22222", Hint(120, 340, "#b22222")),
        ("120, 340, #B22222", Hint(120, 340, "#b22222")),
        ("0.5,0.1,skyblue", Hint(0.5, 0.1, "#87ceeb", fraction=True)),
        ("1.0,0.0,SkyBlue", Hint(1.0, 0.0, "#87ceeb", fraction=True)),
        ("1,1,red", Hint(1, 1, "#ff0000")),
        ("0.5,340,red", Hint(0.5, 340, "#ff0000")),
        ("12.5,3.25,#abc", Hint(12.5, 3.25, "#aabbcc")),
    ],
)
def test_the_command_lines_pixels_and_fractions(text, expected):
    """Fractions only when both numbers are at most 1 and have a decimal point; everything else is pixels."""
    assert parse_hint(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("120,340", "not X,Y,COLOUR"),
        ("120,340,red,blue", "not X,Y,COLOUR"),
        ("a,340,red", "x 'a' is not a number"),
        ("120,340,#12345", "'#12345' is not a colour: give #rrggbb"),
        ("120,340,notacolour", "'notacolour' is not a colour: give #rrggbb (e.g. #b22222) or a CSS colour name"),
        ("120,340,skyblu", "did you mean skyblue?"),
        ("nan,3,red", "x must be a number of at least 0"),
    ],
)
def test_bad_command_line_hints_say_what_is_wrong_in_one_line(text, message):
    with pytest.raises(HintError) as raised:
        parse_hint(text)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert isinstance(raised.value, UsageError), "the commands turn it into exit code 2"


def test_css_colour_names_are_the_css_table():
    names = css_colours()
    assert len(names) == 148
    assert names["rebeccapurple"] == "#663399" and names["grey"] == names["gray"] == "#808080"
    assert parse_colour("LightGoldenrodYellow") == "#fafad2"


def test_a_colour_name_stays_rrggbb_after_pillow_has_looked_it_up():
    """Pillow's ImageColor.getrgb caches an (r, g, b) tuple in the very table the names come from."""
    from PIL import ImageColor

    ImageColor.getrgb("olivedrab")
    assert css_colours()["olivedrab"] == parse_colour("OliveDrab") == "#6b8e23"


def test_a_colour_gives_the_ab_of_the_pipelines_own_conversion():
    a, b = colour_ab("#b22222")
    lab = cv2.cvtColor(np.array([[[0x22, 0x22, 0xB2]]], np.float32) / 255, cv2.COLOR_BGR2Lab)[0, 0]
    assert (a, b) == pytest.approx((lab[1], lab[2]))
    assert colour_ab("#808080") == pytest.approx((0, 0), abs=1e-3)


def test_a_hints_file(tmp_path):
    path = tmp_path / "hints.json"
    path.write_text(
        json.dumps(
            [
                {"x": 120, "y": 340, "colour": "#b22222"},
                {"x": 0.5, "y": 0.25, "color": "skyblue", "radius": 0.1},
                {"x": 0.5, "y": 1, "colour": "navy", "radius": 30},
            ]
        )
    )
    assert read_hints(path) == [
        Hint(120, 340, "#b22222"),
        Hint(0.5, 0.25, "skyblue", 0.1, fraction=True),
        Hint(0.5, 1, "navy", 30),
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[{"x": 1, "y": 2, "colour": "#12]', "is not valid JSON (line 1 column"),
        ('{"x": 1}', "must be a JSON list of hints"),
        ('[{"x": 1, "y": 2}]', "hint 1: no 'colour'"),
        ('[{"x": 1, "y": 2, "colour": "red", "raduis": 3}]', "hint 1: unknown key 'raduis'"),
        ('[{"x": 1, "y": 2, "colour": "red"}, 5]', "hint 2: expected an object"),
        ('[{"x": 1, "y": 2, "colour": "#12345"}]', "hint 1: '#12345' is not a colour"),
        ('[{"x": -1, "y": 2, "colour": "red"}]', "hint 1: x must be a number of at least 0"),
        ('[{"x": true, "y": 2, "colour": "red"}]', "hint 1: x must be a number"),
        ('[{"x": 1, "y": 2, "colour": "red", "radius": 0}]', "hint 1: radius must be a number greater than 0"),
        ('[{"x": 1, "y": 2, "colour": 7}]', "hint 1: colour must be text"),
        ('[{"x": 1, "y": 2, "colour": "red", "color": "blue"}]', "give colour or color, not both"),
    ],
)
def test_bad_hints_files_name_the_file_and_the_hint(tmp_path, text, message):
    path = tmp_path / "hints.json"
    path.write_text(text)
    with pytest.raises(HintError) as raised:
        read_hints(path)
    assert str(raised.value).startswith(str(path)) and message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_too_many_hints_are_refused_before_any_is_read():
    data = json.dumps([{"x": 1, "y": 1, "colour": "red"}] * 10_000)
    with pytest.raises(HintError, match=f"10000 hints, more than the {MAX_HINTS} allowed"):
        hints_from_json(data)
    assert len(hints_from_json(json.dumps([{"x": 1, "y": 1, "colour": "red"}] * MAX_HINTS))) == MAX_HINTS


def test_a_huge_file_is_refused_unread(tmp_path):
    path = tmp_path / "hints.json"
    path.write_bytes(b"[" + b" " * (2 << 20) + b"]")
    with pytest.raises(HintError, match="a hints file holds at most"):
        read_hints(path)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(HintError, match="cannot read the hints"):
        read_hints(tmp_path / "absent.json")


def test_outside_the_picture_is_refused_naming_the_hint_and_the_size():
    check_inside([Hint(639, 479, "red"), Hint(1.0, 1.0, "red", fraction=True)], 640, 480)
    with pytest.raises(HintError) as raised:
        check_inside([Hint(10, 10, "red"), Hint(640, 10, "#b22222")], 640, 480)
    assert str(raised.value).startswith("hint 640,10,#b22222 is outside the picture, which is 640x480 pixels")
    with pytest.raises(HintError, match="fraction of the picture runs from 0 to 1"):
        Hint(1.5, 0.5, "red", fraction=True)


def test_fractions_and_pixels_name_the_same_place():
    assert Hint(0.5, 0.25, "red", fraction=True).place(640, 480) == (0.5, 0.25)
    assert Hint(np.float64(319.5), np.float32(119.5), "red").place(640, 480) == (0.5, 0.25), "NumPy numbers work too"
    assert Hint(np.int64(0), np.int64(0), "red").place(640, 480) == (0.5 / 640, 0.5 / 480)
    assert Hint(319.5, 119.5, "red").place(640, 480) == (0.5, 0.25)
    assert Hint(0, 0, "red").place(640, 480) == (0.5 / 640, 0.5 / 480)


def test_the_picture_size_is_read_upright_from_the_header(tmp_path):
    """An EXIF-rotated photo is colorized upright, so hints are checked against its upright size."""
    from PIL import Image

    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: the stored 200x100 picture is shown 100x200
    Image.fromarray(np.full((100, 200), 128, np.uint8)).save(path, exif=exif)
    check_fits([Hint(99, 199, "red")], path)
    with pytest.raises(HintError, match=r"portrait.jpg: hint 150,50,#ff0000 is outside the picture, which is 100x200"):
        check_fits([Hint(150, 50, "red")], path)


def test_a_photos_sidecar_is_beside_it(tmp_path):
    assert sidecar_path(tmp_path / "1950s" / "wedding.jpg") == tmp_path / "1950s" / "wedding.hints.json"
