-- "Unassigned" is the commonest officer filter: its own partial index in
-- queue order, so the page never walks assigned requests to find 50.
CREATE INDEX requests_unassigned_queue_idx ON requests (due_on, ref)
    WHERE assignee_id IS NULL AND status IN ('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester');
