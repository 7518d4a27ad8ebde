-- Issue #15 §3: the export package. A package may be far larger than one
-- bytea can hold or a process should load, so its bytes live in 1 MiB
-- chunks; attachments.content stays empty for a chunked file.
ALTER TABLE attachments ADD COLUMN chunked boolean NOT NULL DEFAULT false;

CREATE TABLE attachment_chunks (
    attachment_id uuid NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    seq           int NOT NULL,
    data          bytea NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);
-- Chunks are mostly zip bytes: do not try to compress them again.
ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- The built package of a request (one at most): its attachment (purpose
-- 'package' until the officer's complete hands it over as 'export') and
-- how many systems it was built from.
CREATE TABLE export_packages (
    request_id    uuid PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    attachment_id uuid NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    systems       int NOT NULL,
    built_at      timestamptz NOT NULL
);

ALTER TABLE attachments DROP CONSTRAINT attachments_purpose_check;
ALTER TABLE attachments ADD CONSTRAINT attachments_purpose_check
    CHECK (purpose IN ('permission', 'export', 'answer', 'inbound', 'unverified', 'appeal', 'letter', 'task', 'package'));
