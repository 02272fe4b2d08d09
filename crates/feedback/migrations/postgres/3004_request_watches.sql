-- Members watching a feedback request: its status changes and new comments notify them (those
-- who filed or voted for it are told of status changes anyway).
CREATE TABLE request_watches (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id BIGINT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, request_id)
);
CREATE INDEX request_watches_request ON request_watches (request_id);
