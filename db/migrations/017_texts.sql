-- The processor path (#12): a person whose request is about data one of the
-- organisation's clients controls is answered with the organisation's
-- instructions (contact the client, the controller). The request is
-- recorded here as redirected, not denied; the instructions sent are the
-- message it references (which holds the address they went to).
CREATE TABLE redirects (
    id          uuid PRIMARY KEY,
    received_at timestamptz NOT NULL,
    client      text NOT NULL DEFAULT '', -- the client the requester named, if any
    message_id  uuid NOT NULL REFERENCES messages (id)
);
CREATE INDEX redirects_received_idx ON redirects (received_at);
