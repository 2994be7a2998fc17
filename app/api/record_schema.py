"""The documented shape of ``POST /v1/records``: a typed record (DESIGN.md, "Record") or a
tombstone, every field with its rules and examples.

These models document; they do not gate. The body is read loosely (``RecordsBody``) and each
record goes through ``connectors.record.parse_record``, the one gate for records from every
source, so that one bad record is reported on its own instead of failing the whole push. A
test keeps the fields here and the parser's in step.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from connectors.record import MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_OTHER_NAMES, MAX_SUBJECTS

SUBJECT_EXAMPLE: JsonDict = {
    "id": "P-1042-1",
    "name": "Ruth Walker",
    "other_names": ["Ruthie"],
    "dob": "2015-06-01",
    "role": "child",
}
RECORD_EXAMPLE: JsonDict = {
    "id": "CASE-1042-017",
    "case_id": "CASE-1042",
    "doc_type": "safety_plan",
    "title": "Safety plan (version 2)",
    "text": "Safety plan agreed with mum. Mum will supervise all contact with dad.",
    "created_at": "2024-03-02",
    "updated_at": "2024-03-02T10:15:00Z",
    "author": "user:sw-north-1-2",
    "acl": ["team:north-1", "role:qa"],
    "deny": ["user:sw-north-1-3"],
    "source_uri": "cms://records/CASE-1042-017",
    "attachments": ["letters/0042.pdf"],
    "subjects": [SUBJECT_EXAMPLE, {"id": "P-1042-2", "name": "Kerry Walker", "role": "mother"}],
}
TOMBSTONE_EXAMPLE: JsonDict = {"id": "CASE-1042-016", "deleted": True}


class PushedSubject(BaseModel):
    """A person the record is about; the child (role ``child``) first."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [SUBJECT_EXAMPLE]},
    )

    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH, description="the person's id")
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    role: str = Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description='"child" for the child the case is about; else "mother", "carer", …',
    )
    other_names: list[str] = Field(
        default_factory=list, max_length=MAX_OTHER_NAMES, description="names also used"
    )
    dob: dt.date | None = Field(default=None, description="date of birth")


class PushedRecord(BaseModel):
    """A case record to add or replace (matched by ``id``). Unknown keys are kept with the
    record (not searched)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [RECORD_EXAMPLE]})

    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH, description="unique across sources")
    text: str = Field(min_length=1, description="the record's text, searched and quoted")
    acl: list[str] = Field(
        min_length=1,
        description="principals that may see the record (``team:…``, ``role:…``, ``user:…``)",
    )
    deny: list[str] = Field(
        default_factory=list, description="principals that may not, whatever ``acl`` says"
    )
    case_id: str | None = Field(default=None, description="the child's case")
    doc_type: str | None = Field(
        default=None, description="one of the vocabulary (a 422 for the record otherwise)"
    )
    title: str = ""
    created_at: dt.date | None = Field(default=None, description="the record's date")
    updated_at: dt.datetime | None = None
    author: str | None = None
    source_uri: str | None = Field(default=None, description="where the CMS shows the record")
    attachments: list[str] = Field(default_factory=list)
    subjects: list[PushedSubject] = Field(default_factory=list, max_length=MAX_SUBJECTS)
    deleted: Literal[False] = Field(
        default=False, description="false or absent (``true`` makes it a tombstone)"
    )


class PushedTombstone(BaseModel):
    """Remove the record with this ``id`` from every index (nothing happens if it is absent)."""

    model_config = ConfigDict(json_schema_extra={"examples": [TOMBSTONE_EXAMPLE]})

    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    deleted: Literal[True]


class PushBody(BaseModel):
    """Up to 1,000 records and tombstones, applied one by one (see the answer's ``results``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"records": [RECORD_EXAMPLE, TOMBSTONE_EXAMPLE]}]},
    )

    records: list[PushedRecord | PushedTombstone] = Field(min_length=1, max_length=1000)
