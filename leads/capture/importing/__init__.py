"""The import channel: CSV and XLSX files of leads (docs/import.md).

Columns are matched to lead fields by name (case, spaces and punctuation ignored, common
synonyms known); other columns become typed custom attributes. Each row is cleaned by the
same capture_clean as every channel, then rows are written in set-based batches through
capture's batch path (leads.capture.batch.capture_many, with capture()'s find/merge and duplicate
rules): one query finds the batch's existing leads by external id, email and phone, new leads are
COPYed in, changed ones updated in one statement, and each row leaves a CaptureRecord and, when it
created or changed a lead, an "import" Interaction. The file is streamed, so memory does not
grow with its size; a job row (ImportJob) carries the progress the UI polls.

The parts, each importing from the others directly (this module only re-exports for callers):
  files.py                reading CSV (encoding, delimiter) and XLSX, streamed; ImportFileError
  columns.py              matching headers to lead fields (synonyms, the id column)
  rows.py                 cleaning one row (cell types, placeholders, statuses, capture_clean)
  writer.py               a batch through capture_many, plus what is the import's own (status, owner, list)
  jobs.py                 the job: permissions, start, claim, run with progress, fail
  crm_formats.py          the column names of Salesforce, HubSpot, Pipedrive and Zoho exports; report footers
  statuses.py             other systems' statuses mapped to ours (the default table)
  countries.py            country and region names as people write them (pycountry)
  dates.py                dates as CRMs export them, day-first or month-first
  owners.py               owners named in the file matched to users
  mapping.py              the mapping step (draft, preview, confirm), rejected rows, re-run, routing hold
"""

from .columns import (
    COLUMN_SYNONYMS,
    ID_COLUMN_MISSING,
    SKIP,
    TARGET_LABELS,
    UNKNOWN_TARGET,
    import_columns,
    import_inspect,
)
from .countries import country_code, region_name
from .crm_formats import CRM_COLUMNS
from .dates import DAY_FIRST, MONTH_FIRST, import_date
from .files import (
    EMPTY_FILE,
    NO_HEADER,
    NOT_XLSX,
    NUL_IN_HEADER,
    UNREADABLE_ROW,
    UNSUPPORTED_FORMAT,
    ImportFileError,
    Sheet,
    SheetRow,
    import_check_name,
    import_sheet,
)
from .jobs import (
    FILE_TOO_LARGE,
    IMPORT_FAILED,
    NOT_A_DRY_RUN,
    import_file,
    import_job_claim,
    import_job_create,
    import_job_fail,
    import_job_repeat,
    import_job_start,
    import_jobs_recent,
    import_run,
    import_too_large_message,
    import_upload_limit,
)
from .mapping import (
    NOT_A_DRAFT,
    UNKNOWN_STATUS_TARGET,
    Preview,
    import_job_confirm,
    import_job_draft,
    import_job_preview,
    import_job_rerun,
    import_rejected_rows,
    import_routing_held,
)
from .rows import (
    NO_IDENTITY,
    NOT_YES_NO,
    UNKNOWN_STATUS,
    ImportRow,
    RowRules,
    import_row_clean,
    typed_value,
)
from .statuses import CRM_STATUSES, STATUS_SYNONYMS, import_status
from .writer import LOST_REASON_DEFAULT, ImportSettings, RowOutcome, import_batch

__all__ = [
    "CRM_COLUMNS",
    "CRM_STATUSES",
    "DAY_FIRST",
    "MONTH_FIRST",
    "NOT_A_DRAFT",
    "SKIP",
    "TARGET_LABELS",
    "UNKNOWN_STATUS_TARGET",
    "UNKNOWN_TARGET",
    "Preview",
    "RowRules",
    "country_code",
    "import_date",
    "import_job_confirm",
    "import_job_draft",
    "import_job_preview",
    "import_job_rerun",
    "import_rejected_rows",
    "import_routing_held",
    "region_name",
    "COLUMN_SYNONYMS",
    "EMPTY_FILE",
    "FILE_TOO_LARGE",
    "ID_COLUMN_MISSING",
    "IMPORT_FAILED",
    "LOST_REASON_DEFAULT",
    "NOT_A_DRY_RUN",
    "NOT_XLSX",
    "NOT_YES_NO",
    "NO_HEADER",
    "NO_IDENTITY",
    "NUL_IN_HEADER",
    "STATUS_SYNONYMS",
    "UNKNOWN_STATUS",
    "UNREADABLE_ROW",
    "UNSUPPORTED_FORMAT",
    "ImportFileError",
    "ImportRow",
    "ImportSettings",
    "RowOutcome",
    "Sheet",
    "SheetRow",
    "import_batch",
    "import_check_name",
    "import_columns",
    "import_file",
    "import_inspect",
    "import_job_claim",
    "import_job_create",
    "import_job_fail",
    "import_job_repeat",
    "import_job_start",
    "import_jobs_recent",
    "import_row_clean",
    "import_run",
    "import_sheet",
    "import_status",
    "import_too_large_message",
    "import_upload_limit",
    "typed_value",
]
