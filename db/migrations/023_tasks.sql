-- Issue #15: one task per data system per request. The data a system
-- returns is stored in task_sections (one row per chunk of a section),
-- and files it uploads as attachments with purpose 'task'.
CREATE TABLE tasks (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id  uuid NOT NULL REFERENCES requests (id),
    system      text NOT NULL,
    kind        text NOT NULL,
    connector   text NOT NULL CHECK (connector IN ('webhook', 'postgres', 'mysql', 'manual')),
    status      text NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'done', 'not_found', 'kept', 'failed', 'skipped')),
    due_on      date NOT NULL,
    attempts    int NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    basis       text NOT NULL DEFAULT '',
    count       int NOT NULL DEFAULT 0,
    affected    jsonb NOT NULL DEFAULT '[]',
    dry_run     boolean NOT NULL DEFAULT false,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz,
    finished_by text NOT NULL DEFAULT '', -- 'system', 'connector' or 'user:<uuid>'
    UNIQUE (request_id, system)
);
CREATE INDEX tasks_open_idx ON tasks (due_on) WHERE status IN ('pending', 'running', 'waiting');

CREATE TABLE task_sections (
    task_id uuid NOT NULL REFERENCES tasks (id),
    section text NOT NULL,
    seq     int NOT NULL,
    columns jsonb NOT NULL DEFAULT '[]',
    rows    jsonb NOT NULL, -- a JSON array of row objects
    PRIMARY KEY (task_id, section, seq)
);

ALTER TABLE attachments ADD COLUMN task_id uuid REFERENCES tasks (id);
ALTER TABLE attachments DROP CONSTRAINT attachments_purpose_check;
ALTER TABLE attachments ADD CONSTRAINT attachments_purpose_check
    CHECK (purpose IN ('permission', 'export', 'answer', 'inbound', 'unverified', 'appeal', 'letter', 'task'));
