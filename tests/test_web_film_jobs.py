"""colorization/web/film_jobs.py: a film job's state, kept in job.json as the same words the REST API shows, and a
job.json this server did not write refused."""

import json

import pytest

from colorization.web.film_jobs import ACTIVE, RECORD_NAME, STARTABLE, FilmJob, FilmState


def test_a_job_keeps_its_state_as_a_word_in_job_json_and_reads_it_back_as_a_state(tmp_path):
    folder = tmp_path / "abcdefghijklmnop"
    folder.mkdir(parents=True)
    job = FilmJob("abcdefghijklmnop", "reel", folder)
    assert job.state is FilmState.READY
    job.set_state(FilmState.FAILED, "the server stopped")
    job.save()
    record = json.loads((folder / RECORD_NAME).read_text())
    assert record["state"] == "failed" and record["error"] == "the server stopped"
    loaded = FilmJob.load(folder)
    assert loaded.state is FilmState.FAILED and f"this film is {loaded.state}" == "this film is failed"


def test_the_states_are_the_words_of_the_rest_api_and_the_page():
    assert [state.value for state in FilmState] == ["ready", "queued", "running", "done", "failed", "cancelled"]
    assert set(ACTIVE) == {"queued", "running"} and set(STARTABLE) == {"ready", "failed", "cancelled"}


def test_a_job_json_with_a_state_this_server_does_not_know_is_refused(tmp_path):
    folder = tmp_path / "abcdefghijklmnop"
    folder.mkdir()
    FilmJob("abcdefghijklmnop", "reel", folder).save()
    record = json.loads((folder / RECORD_NAME).read_text())
    (folder / RECORD_NAME).write_text(json.dumps({**record, "state": "paused"}))
    with pytest.raises(ValueError, match="is not a film job of this server"):
        FilmJob.load(folder)
