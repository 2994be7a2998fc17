"""The client reads what the server publishes: every field a client model expects is in the
server's OpenAPI schema for that answer, and every field the server always sends is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from casesearch_client import models
from pydantic import BaseModel, SecretStr

from app.main import create_app
from app.settings import Settings

# client model -> the server's schema of the same answer
PAIRS: dict[type[BaseModel], str] = {
    models.SearchPage: "SearchResponse",
    models.SearchResult: "ResultOut",
    models.Snippet: "SnippetOut",
    models.Citation: "CitationOut",
    models.Subject: "SubjectOut",
    models.Document: "DocumentOut",
    models.Timeline: "TimelineOut",
    models.TimelineEntry: "TimelineEntryOut",
    models.Patterns: "PatternsResponse",
    models.PatternCase: "PatternCaseOut",
    models.PatternEvidence: "PatternEvidenceOut",
    models.Chronology: "ChronologyOut",
    models.ChronologyEvent: "ChronologyEventOut",
    models.ChronologyCategory: "ChronologyCategoryOut",
    models.PushResult: "RecordsResult",
    models.RecordOutcome: "RecordOutcome",
    models.ChangesPage: "ChangesOut",
    models.Change: "ChangeOut",
}
# sent by the server and left unread on purpose: ``results`` says the same per record
NOT_READ = {("RecordsResult", "failures")}


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("schema"),
        jwt_secret=SecretStr("client-schema-secret-of-thirty-two-bytes"),
    )
    found: dict[str, Any] = create_app(settings).openapi()["components"]["schemas"]
    return found


@pytest.mark.parametrize("model", list(PAIRS), ids=lambda m: m.__name__)
def test_the_client_model_matches_the_published_answer(
    model: type[BaseModel], schemas: dict[str, Any]
) -> None:
    name = PAIRS[model]
    schema = schemas[name]
    read = set(model.model_fields)
    sent = set(schema["properties"])
    assert read <= sent, f"{model.__name__} expects fields {name} lacks: {read - sent}"
    always = set(schema.get("required", [])) - {f for n, f in NOT_READ if n == name}
    assert always <= read, f"{model.__name__} ignores fields of {name}: {always - read}"


def test_the_client_does_not_import_the_server() -> None:
    package = Path(models.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text()
        for ours in ("app", "retrieval", "indexer", "connectors", "evaluation"):
            assert f"from {ours}" not in text
            assert f"import {ours}" not in text
