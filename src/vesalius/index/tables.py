"""The index schema: one table per level, one column per kept attribute.

Columns are named after DICOM keywords in snake case; ``COLUMNS`` maps each
keyword to its column so that queries and listings speak DICOM. Every
attribute a query can match on is indexed. Two derived columns serve C-FIND
matching: ``patients.patient_name_norm`` (the name folded to upper case without
accents, so that case-insensitive ``DOE*`` uses an index) and
``studies.study_datetime`` (StudyDate followed by StudyTime, for combined
date-time ranges, PS3.4 C.2.2.2.5.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


def column_name(keyword: str) -> str:
    """``StudyInstanceUID`` -> ``study_instance_uid``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", keyword)
    return spaced.lower()


def _text(keyword: str, length: int = 64) -> Column[str]:
    return Column(column_name(keyword), String(length), nullable=False, default="")


patients = Table(
    "patients",
    metadata,
    Column("pk", Integer, primary_key=True),
    _text("PatientID"),
    _text("IssuerOfPatientID"),
    _text("PatientName", 324),
    _text("PatientBirthDate", 16),
    _text("PatientSex", 16),
    Column("patient_name_norm", String(324), nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("patient_id", "issuer_of_patient_id", name="uq_patients_id_issuer"),
    Index("ix_patients_patient_name", "patient_name"),
    Index("ix_patients_patient_name_norm", "patient_name_norm"),
    Index("ix_patients_patient_birth_date", "patient_birth_date"),
)

studies = Table(
    "studies",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("patient_pk", ForeignKey("patients.pk", ondelete="CASCADE"), nullable=False),
    Column("study_instance_uid", String(64), nullable=False, unique=True),
    _text("StudyDate", 16),
    _text("StudyTime", 32),
    _text("AccessionNumber", 64),
    _text("StudyID", 32),
    _text("StudyDescription", 128),
    _text("ReferringPhysicianName", 324),
    _text("TimezoneOffsetFromUTC", 16),
    Column("study_datetime", String(48), nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
    Index("ix_studies_patient_pk", "patient_pk"),
    Index("ix_studies_study_date", "study_date"),
    Index("ix_studies_study_datetime", "study_datetime"),
    Index("ix_studies_accession_number", "accession_number"),
    Index("ix_studies_study_id", "study_id"),
    Index("ix_studies_referring_physician_name", "referring_physician_name"),
)

series = Table(
    "series",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("study_pk", ForeignKey("studies.pk", ondelete="CASCADE"), nullable=False),
    Column("series_instance_uid", String(64), nullable=False, unique=True),
    _text("Modality", 16),
    Column("series_number", Integer, nullable=True),
    _text("SeriesDescription", 128),
    _text("BodyPartExamined", 64),
    _text("PerformedProcedureStepStartDate", 16),
    _text("PerformedProcedureStepStartTime", 32),
    Column("created_at", DateTime, nullable=False),
    Index("ix_series_study_pk", "study_pk"),
    Index("ix_series_modality", "modality"),
    Index("ix_series_modality_study_pk", "modality", "study_pk"),
    Index("ix_series_series_number", "series_number"),
)

instances = Table(
    "instances",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("series_pk", ForeignKey("series.pk", ondelete="CASCADE"), nullable=False),
    Column("sop_instance_uid", String(64), nullable=False, unique=True),
    Column("sop_class_uid", String(64), nullable=False),
    Column("instance_number", Integer, nullable=True),
    Column("rows", Integer, nullable=True),
    Column("columns", Integer, nullable=True),
    Column("bits_allocated", Integer, nullable=True),
    Column("number_of_frames", Integer, nullable=True),
    _text("ContentDate", 16),
    _text("ContentTime", 32),
    _text("SpecificCharacterSet", 128),
    Column("transfer_syntax_uid", String(64), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("blob_name", String(128), nullable=False, unique=True),
    Column("source_aet", String(16), nullable=False, default=""),
    Column("received_at", DateTime, nullable=False),
    Index("ix_instances_series_pk", "series_pk"),
    Index("ix_instances_sop_class_uid", "sop_class_uid"),
    Index("ix_instances_instance_number", "instance_number"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("description", String(256), nullable=False, default=""),
    Column("done", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("warning", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("error", String(1024), nullable=False, default=""),
    Column("result", String(4096), nullable=False, default=""),
    Column("owner", String(64), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("params", Text, nullable=False, default="", server_default=""),
    Column("reference", String(64), nullable=False, default="", server_default=""),
    Column("not_before", DateTime, nullable=True),
    Column("node", String(128), nullable=False, default="", server_default=""),
    Column("lease_until", DateTime, nullable=True),
    Index("ix_jobs_state", "state"),
    Index("ix_jobs_kind", "kind"),
    Index("ix_jobs_reference", "reference"),
    Index("ix_jobs_state_lease", "state", "lease_until"),
)
"""Outbound work (sends, C-MOVE sub-operations, ...): kind send|move|get|retrieve|export|...,
state pending|running|done|failed|cancelled, counts in instances; ``result`` is JSON;
``params`` is the JSON request a runner needs to do a queued job (peer, studies, ...);
``reference`` an outside key to find it by (a storage commitment's Transaction UID);
``not_before`` when a job waiting to be tried again may be taken; ``node`` the process that
holds (or last held) the job and ``lease_until`` until when its hold lasts unless renewed."""

instance_metadata = Table(
    "instance_metadata",
    metadata,
    Column("blob_name", String(200), primary_key=True),
    Column("body", Text, nullable=False),
)
"""DICOM JSON of a stored file (bulk data by URI), written the first time it is asked for."""

worklist = Table(
    "worklist",
    metadata,
    Column("pk", Integer, primary_key=True),
    _text("PatientID"),
    _text("IssuerOfPatientID"),
    _text("PatientName", 324),
    Column("patient_name_norm", String(324), nullable=False, default=""),
    _text("AccessionNumber"),
    _text("RequestedProcedureID"),
    Column("study_instance_uid", String(64), nullable=False),
    _text("ScheduledStationAETitle", 16),
    _text("Modality", 16),
    _text("ScheduledProcedureStepStartDate", 16),
    _text("ScheduledProcedureStepStartTime", 32),
    Column("scheduled_procedure_step_start_datetime", String(48), nullable=False, default=""),
    _text("ScheduledPerformingPhysicianName", 324),
    _text("ScheduledProcedureStepID"),
    _text("ScheduledProcedureStepStatus", 16),
    _text("PlacerOrderNumberImagingServiceRequest"),
    _text("FillerOrderNumberImagingServiceRequest"),
    Column("mpps_uid", String(64), nullable=False, default=""),
    Column("dataset", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_worklist_patient_id", "patient_id"),
    Index("ix_worklist_patient_name_norm", "patient_name_norm"),
    Index("ix_worklist_accession_number", "accession_number"),
    Index("ix_worklist_study_instance_uid", "study_instance_uid"),
    Index(
        "ix_worklist_station_start",
        "scheduled_station_ae_title",
        "scheduled_procedure_step_start_datetime",
    ),
    Index("ix_worklist_start", "scheduled_procedure_step_start_datetime"),
    Index("ix_worklist_status", "scheduled_procedure_step_status"),
    Index("ix_worklist_placer_order", "placer_order_number_imaging_service_request"),
    Index("ix_worklist_filler_order", "filler_order_number_imaging_service_request"),
)
"""Modality worklist items, one per scheduled procedure step (PS3.4 K.6): the matching keys
as columns, the whole item as DICOM JSON in ``dataset``; ``mpps_uid`` the performed
procedure step that reported on it; ``scheduled_procedure_step_start_datetime`` date and
time together, for combined ranges (PS3.4 C.2.2.2.5.1)."""

mpps = Table(
    "mpps",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("sop_instance_uid", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("study_instance_uid", String(64), nullable=False, default=""),
    Column("worklist_pk", ForeignKey("worklist.pk", ondelete="SET NULL"), nullable=True),
    Column("performed_station_ae_title", String(16), nullable=False, default=""),
    Column("dataset", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_mpps_study_instance_uid", "study_instance_uid"),
    Index("ix_mpps_worklist_pk", "worklist_pk"),
)
"""Modality performed procedure steps (PS3.4 F.7): their state (IN PROGRESS, COMPLETED,
DISCONTINUED), the worklist item they report on, and every attribute as DICOM JSON."""

users = Table(
    "users",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
)
"""People and scripts allowed in over HTTP: a name, an Argon2 password hash, a role
(viewer, operator, admin)."""

credentials = Table(
    "credentials",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False, default=""),
    Column("label", String(64), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Index("ix_credentials_user_pk", "user_pk"),
)
"""Bearer tokens and browser sessions of users: only the SHA-256 of each secret is kept;
a session also holds the CSRF token its state-changing requests must repeat."""


# PostgreSQL alone: indexes for wildcard matching. A plain B-tree serves LIKE 'DOE%' only
# under the C collation; ``text_pattern_ops`` compares bytes whatever the collation, and a
# trigram GIN index (pg_trgm) serves leading wildcards ('%DOE'). Created by migration 0010.


def _postgres_only(index: Index) -> Index:
    """Reserve ``index`` for PostgreSQL: created only there, and left out of the schema
    comparison on other dialects (``include_object``)."""
    index.info["dialect"] = "postgresql"
    return index.ddl_if(dialect="postgresql")


def _pattern(table: Table, column: str) -> Index:
    return _postgres_only(
        Index(
            f"ix_{table.name}_{column}_pattern",
            table.c[column],
            postgresql_ops={column: "text_pattern_ops"},
        )
    )


def _trigram(table: Table, column: str) -> Index:
    return _postgres_only(
        Index(
            f"ix_{table.name}_{column}_trgm",
            table.c[column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
    )


POSTGRES_INDEXES = (
    _pattern(patients, "patient_name_norm"),
    _pattern(patients, "patient_name"),
    _pattern(patients, "patient_id"),
    _pattern(studies, "accession_number"),
    _pattern(studies, "study_id"),
    _pattern(studies, "study_description"),
    _pattern(studies, "referring_physician_name"),
    _pattern(worklist, "patient_name_norm"),
    _pattern(worklist, "patient_id"),
    _pattern(worklist, "accession_number"),
    _trigram(patients, "patient_name_norm"),
    _trigram(patients, "patient_name"),
)
"""Wildcard-matching indexes that exist on PostgreSQL only."""


def include_object(dialect: str) -> Callable[[object, str | None, str, bool, object], bool]:
    """An Alembic ``include_object`` hook for a database of ``dialect``: leaves out the
    indexes reserved for another dialect, so that comparing the schema with ``metadata``
    (or autogenerating a migration) on SQLite does not ask for PostgreSQL's indexes."""

    def include(
        item: object, _name: str | None, kind: str, _reflected: bool, _other: object
    ) -> bool:
        wanted = getattr(item, "info", {}).get("dialect") if kind == "index" else None
        return wanted is None or wanted == dialect

    return include
