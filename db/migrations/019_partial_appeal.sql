-- Issue #13 §2: a completion in part (outcome partial) may be appealed as
-- a refusal may. appealed_from is the status the request had when it was
-- appealed, and returns to when the appeal is upheld; the appeals stored
-- before were all of refusals.
ALTER TABLE appeals
    ADD COLUMN appealed_from text NOT NULL DEFAULT 'denied'
        CHECK (appealed_from IN ('denied', 'completed'));
