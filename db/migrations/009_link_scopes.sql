-- Status links carry what they may do: a "pending" link was issued before
-- the subject proved the email address (or for an opt-out that needed no
-- proof) and only shows that the request exists; a "full" link was issued
-- after confirmation. Confirmation revokes every earlier status link.
ALTER TABLE tokens
    ADD COLUMN scope text NOT NULL DEFAULT 'full' CHECK (scope IN ('pending', 'full')),
    ADD COLUMN revoked_at timestamptz;

-- Links issued before this migration could not know whether the address
-- had been proven: those of requests never verified keep only the pending
-- view.
UPDATE tokens t SET scope = 'pending'
FROM requests r
WHERE r.id = t.request_id AND t.purpose = 'status' AND r.verified_at IS NULL;

-- Links of verified requests handed out well before the confirmation
-- (the 201 answer, the first emails) may be in a stranger's hands: revoked
-- as a confirmation now revokes them. The minute of margin keeps the links
-- minted in the confirming transaction itself (created_at is the
-- database's clock, verified_at the server's).
UPDATE tokens t SET revoked_at = r.verified_at
FROM requests r
WHERE r.id = t.request_id AND t.purpose = 'status' AND r.verified_at IS NOT NULL
  AND t.created_at < r.verified_at - interval '1 minute';

-- Links of closed requests live only for the grace period after the close
-- (30 days, db.StatusLinkGrace).
UPDATE tokens t SET expires_at = least(t.expires_at, r.closed_at + interval '30 days')
FROM requests r
WHERE r.id = t.request_id AND t.purpose = 'status' AND r.closed_at IS NOT NULL;
