-- When the data subject was first asked to confirm: verification reminders
-- and expiry count from here, not from receipt, so a request entered late
-- (from a letter) or confirmed after triage is not expired at once.
ALTER TABLE requests ADD COLUMN verification_sent_at timestamptz;
