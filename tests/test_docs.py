"""The README and docs/ as a reader uses them: every command line they show parses with that command's own parser,
the ones that need only bundled inputs run, and docs/commands.md says what the parsers say."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import cv2
import pytest

from colorization.commands import COMMANDS
from docs import command_reference
from tests.support import REPO
from tests.support.checks import mean_chroma
from tests.support.tiny_model import model_arguments

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SCRIPTS = {
    "colorize.py": "photo",
    "batch_colorize.py": "batch",
    "video_colorize.py": "video",
    "fetch_models.py": "fetch",
    "web_colorize.py": "web",
}
INSTALLED = {
    "colorize": "photo",
    "colorize-batch": "batch",
    "colorize-video": "video",
    "colorize-fetch": "fetch",
    "colorize-eval": "eval",
    "colorize-web": "web",
}
SHELL_VARIABLES = {
    "SLURM_ARRAY_TASK_ID": "0",
    "SLURM_ARRAY_TASK_COUNT": "8",
    "TOKEN": "0123456789abcdef0123",
    "FILM": "Xq3film0example0id",
}
"""Values for the variables the examples use, as a job array or the reader's shell would set them."""
SEPARATORS = {"&&", "||", ";", "|"}
BUNDLED = "examples/"


def bash_blocks(page: Path) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)


def expand_variables(line: str) -> str:
    """$((arithmetic)), $NAME and ${NAME} with SHELL_VARIABLES; an unknown variable fails, naming itself."""

    def value(name: str) -> str:
        assert name in SHELL_VARIABLES, f"an example uses ${name}: give it a value in SHELL_VARIABLES"
        return SHELL_VARIABLES[name]

    line = re.sub(
        r"\$\(\((.*?)\)\)", lambda m: str(eval(re.sub(r"\$?([A-Z_]+)", lambda v: value(v.group(1)), m.group(1)))), line
    )
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: value(m.group(1)), line)


def command_lines(text: str):
    """Each (command name, its arguments) invoked in a shell block; other programs (pip, git, curl) are left out."""
    for line in text.replace("\\\n", " ").splitlines():
        tokens = shlex.split(expand_variables(line), comments=True)
        while tokens:
            end = next((index for index, token in enumerate(tokens) if token in SEPARATORS), len(tokens))
            command, tokens = tokens[:end], tokens[end + 1 :]
            while command and re.fullmatch(r"[A-Z_]+=.*", command[0]):
                command = command[1:]  # an environment assignment before the command
            found = invocation(command)
            if found:
                yield found


def invocation(tokens: list[str]) -> tuple[str, list[str]] | None:
    if tokens[:1] in (["python"], ["python3"]):
        if len(tokens) > 1 and Path(tokens[1]).name in SCRIPTS:
            return SCRIPTS[Path(tokens[1]).name], tokens[2:]
        if tokens[1:3] == ["-m", "colorization"]:
            assert len(tokens) > 3 and tokens[3] in COMMANDS, f"python -m colorization needs a command name: {tokens}"
            return tokens[3], tokens[4:]
        return None
    if tokens and tokens[0] in INSTALLED:
        return INSTALLED[tokens[0]], tokens[1:]
    return None


EXAMPLES = [
    (page.relative_to(REPO).as_posix(), name, arguments)
    for page in PAGES
    for block in bash_blocks(page)
    for name, arguments in command_lines(block)
]


def test_the_pages_show_every_command():
    assert {name for _, name, _ in EXAMPLES} == set(COMMANDS)
    readme = {name for page, name, _ in EXAMPLES if page == "README.md"}
    assert {"photo", "batch", "video", "web", "fetch"} <= readme


@pytest.mark.parametrize(
    "page, name, arguments", EXAMPLES, ids=lambda value: " ".join(value) if isinstance(value, list) else str(value)
)
def test_example_parses_with_its_commands_parser(page, name, arguments, capsys):
    parser = command_reference.build_parser(name)
    try:
        parser.parse_args(arguments)
    except SystemExit as exit:
        assert exit.code == 0, (
            f"{page}: `{name} {shlex.join(arguments)}` no longer parses: {capsys.readouterr().err.strip()}"
        )


def test_a_renamed_flag_is_caught():
    assert next(command_lines("python colorize.py -i a.jpg --compair  # typo")) == (
        "photo",
        ["-i", "a.jpg", "--compair"],
    )
    with pytest.raises(SystemExit):
        command_reference.build_parser("photo").parse_args(["-i", "a.jpg", "--compair"])
    assert list(command_lines("python -m pip install -r requirements-dev.txt && python -m pytest -q")) == []
    assert list(
        command_lines("python batch_colorize.py a/ b/ --shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT")
    ) == [("batch", ["a/", "b/", "--shard", "1/8"])]


RUNNABLE = [
    example
    for example in EXAMPLES
    if any(argument.startswith(BUNDLED) for argument in example[2]) and example[1] in ("photo", "batch")
]


@pytest.fixture
def bundled_copy(tmp_path, monkeypatch, dominant_model):
    """A copy of examples/ in the working directory, and the tiny model (one warm colour) for the release files."""
    shutil.copytree(REPO / "examples", tmp_path / "work" / "examples")
    monkeypatch.chdir(tmp_path / "work")
    return dominant_model


def files_below(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


def test_bundled_examples_exist():
    assert any(
        name == "photo" and arguments == ["-i", "examples/chelsea_gray.jpg"]
        for page, name, arguments in RUNNABLE
        if page == "README.md"
    )
    assert len(RUNNABLE) >= 3


@pytest.mark.parametrize(
    "page, name, arguments", RUNNABLE, ids=lambda value: " ".join(value) if isinstance(value, list) else str(value)
)
def test_bundled_example_runs(page, name, arguments, bundled_copy):
    module = command_reference.importlib.import_module(f"colorization.commands.{COMMANDS[name][0]}")
    before = files_below(Path.cwd())
    code = module.main([*arguments, *model_arguments(bundled_copy), "--no-download", "-q"], prog=name)
    assert code == 0, f"{page}: `{name} {shlex.join(arguments)}` exited {code}"
    written = files_below(Path.cwd()) - before
    assert written, f"{page}: `{name} {shlex.join(arguments)}` wrote nothing"
    for path in written:
        picture = cv2.imread(str(path))
        assert picture is not None and mean_chroma(picture) > 2, (
            f"{page}: `{name} {shlex.join(arguments)}` wrote {path.name} without colour"
        )


def test_commands_reference_is_generated_from_the_parsers():
    text = command_reference.REFERENCE.read_text(encoding="utf-8")
    assert command_reference.render(text) == text, (
        "docs/commands.md is out of date: run python -m docs.command_reference"
    )
    assert set(command_reference.TABLE_NAMES.findall(text)) == {*COMMANDS, command_reference.SHARED}


def test_commands_reference_lists_every_option():
    text = command_reference.REFERENCE.read_text(encoding="utf-8")
    for name in COMMANDS:
        for action in command_reference.build_parser(name)._actions:
            for option in action.option_strings:
                assert f"`{option}" in text, f"docs/commands.md does not list {name}'s {option}"


@pytest.mark.parametrize("name", COMMANDS)
def test_help_ends_with_exit_codes_and_the_reference(name):
    lines = command_reference.build_parser(name).format_help().strip().splitlines()
    assert "docs/commands.md" in lines[-1]
    assert any("exit codes" in line.lower() and "2 usage" in line for line in lines[-3:])


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_links_between_pages_lead_somewhere(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}, which does not exist"
        if fragment:
            headings = re.findall(r"^#+ (.*)$", linked.read_text(encoding="utf-8"), re.M)
            assert fragment in {anchor(heading) for heading in headings}, (
                f"{page.name} links to {target}: no such heading"
            )
