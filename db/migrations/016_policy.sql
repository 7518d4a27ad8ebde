-- Issue #12: what a completed request's outcome was. outcome is '' for a
-- request not completed (or completed before outcomes existed: read as
-- full); kept lists what a partial outcome kept and the legal basis, as
-- [{"data": "...", "basis": "..."}].
ALTER TABLE requests
    ADD COLUMN outcome text NOT NULL DEFAULT ''
        CHECK (outcome IN ('', 'full', 'partial', 'no_data')),
    ADD COLUMN kept jsonb NOT NULL DEFAULT '[]'::jsonb;
