"""colorization/status.py: one Status for every command's results, written as the same plain words as before in
messages, CSV and JSON reports."""

import csv
import io
import json

from colorization.status import Status


def test_a_status_is_its_word_in_messages_reports_and_comparisons():
    assert [status.value for status in Status] == ["done", "skipped", "failed", "interrupted"]
    for status in Status:
        assert status == status.value and str(status) == f"{status}" == "%s" % status == status.value  # noqa: UP031 (%-formatting is what is tested)
        assert Status(status.value) is status
    assert json.dumps({"status": Status.FAILED, Status.DONE: 1}) == '{"status": "failed", "done": 1}'
    cells = io.StringIO()
    csv.writer(cells).writerow(list(Status))
    assert cells.getvalue().strip() == "done,skipped,failed,interrupted"
