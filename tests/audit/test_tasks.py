"""Beat tasks of the audit app."""

import logging
import uuid

from audit.ledger import ledger_append, ledger_integrate
from audit.models import WitnessCosignature
from audit.tasks import witness_cosign_task
from tests.support.events import TEST_EVENT


def test_witness_task_cosigns_and_logs_a_refusal(db, settings, tmp_path, caplog):
    settings.WITNESS_DIR = tmp_path / "witness"
    ledger_append(event_type=TEST_EVENT, fields={"request_id": str(uuid.uuid4())})
    ledger_integrate()
    assert witness_cosign_task() == 1
    assert witness_cosign_task() == 1  # again: same checkpoint, nothing new, no error
    assert WitnessCosignature.objects.count() == 1
    # A witness state from another log makes it refuse, loudly.
    (tmp_path / "witness" / "state.json").write_text(
        '{"origin": "other.example/log", "root": "' + "A" * 43 + '=", "size": 1}'
    )
    with caplog.at_level(logging.ERROR, logger="audit.tasks"):
        assert witness_cosign_task() is None
    assert "witness refused to cosign" in caplog.text
