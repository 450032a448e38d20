"""python -m colorization NAME: every command reachable by one name, named as the user ran it."""

import pytest

from colorization import __version__
from colorization.commands import COMMANDS, main
from colorization.commands.running import EXIT_USAGE


def test_every_command_is_listed_with_what_it_does(capsys):
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_names_itself_as_run_and_knows_its_version(capsys, name):
    with pytest.raises(SystemExit) as finished:
        main([name, "--help"])
    assert finished.value.code == 0
    output = capsys.readouterr().out
    assert output.startswith(f"usage: python -m colorization {name}")
    assert "exit codes:" in output or "Exit codes:" in output
    with pytest.raises(SystemExit):
        main([name, "--version"])
    assert capsys.readouterr().out.strip() == f"python -m colorization {name} {__version__}"


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys):
    assert main([]) == EXIT_USAGE
    assert main(["paint"]) == EXIT_USAGE
    assert "no command 'paint'" in capsys.readouterr().err
