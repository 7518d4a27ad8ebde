-- Issue #15 §2/§4: systems report on their tasks with their own API
-- tokens (a token belongs to a user or to a system, never both); manual
-- systems' owners receive mail; a task's report is stored by hash so a
-- repeated callback is recognised.
ALTER TABLE api_tokens ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE api_tokens ADD COLUMN system text;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_holder_check
    CHECK ((user_id IS NULL) <> (system IS NULL));

ALTER TABLE messages DROP CONSTRAINT messages_recipient_role_check;
ALTER TABLE messages ADD CONSTRAINT messages_recipient_role_check
    CHECK (recipient_role IN ('subject', 'agent', 'officer', 'admin', 'system_owner'));

ALTER TABLE tasks ADD COLUMN report_hash bytea;
