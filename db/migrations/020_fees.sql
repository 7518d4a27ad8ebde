-- Issue #12 §6: the fee a request waits for (one at a time), and an index
-- for the repeat-request warning (same requester, same kind, 12 months).
CREATE TABLE request_fees (
    request_id   uuid PRIMARY KEY REFERENCES requests(id) ON DELETE CASCADE,
    amount       numeric(11, 2) NOT NULL CHECK (amount > 0),
    currency     char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reason       text NOT NULL CHECK (reason IN ('further_copies', 'manifestly_unfounded', 'excessive', 'repeat_within_12_months')),
    clock        text NOT NULL CHECK (clock IN ('restart', 'pause', 'run')),
    requested_at timestamptz NOT NULL
);

CREATE INDEX requests_requester_kind_idx ON requests (requester_id, kind, received_at);
