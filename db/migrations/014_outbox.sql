-- Batched delivery: one delivery job sends every due queued message it can
-- claim over one SMTP connection. claimed_until is the claim (a lease: a
-- claimant that died loses it when it passes); next_attempt_at is when a
-- message refused with a 4xx (or not reached) may be tried again, so a
-- message retried inside another message's batch keeps its own backoff.
-- Claims use the existing messages_status_idx (status, created_at).
ALTER TABLE messages
    ADD COLUMN claimed_until   timestamptz,
    ADD COLUMN next_attempt_at timestamptz;
