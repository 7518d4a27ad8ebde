-- Opt-outs must reach the systems that sell or share: the feed lists every
-- opt-out (form, email, GPC) by receipt time, and each system marks the
-- ones it applied.
CREATE INDEX requests_opt_out_feed_idx ON requests (received_at, ref) WHERE kind = 'opt_out';

CREATE TABLE opt_out_applications (
    request_id uuid NOT NULL REFERENCES requests (id),
    system     text NOT NULL CHECK (system ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    applied_at timestamptz NOT NULL,
    applied_by uuid REFERENCES users (id),
    PRIMARY KEY (request_id, system)
);

-- GPC opt-outs are deduplicated per device or email.
CREATE INDEX requests_gpc_device_idx ON requests ((fields ->> 'device_id')) WHERE channel = 'gpc';
