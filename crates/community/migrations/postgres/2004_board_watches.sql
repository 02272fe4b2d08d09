-- Members watching a board: every new thread in it notifies them.
CREATE TABLE board_watches (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    board_id BIGINT NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, board_id)
);
CREATE INDEX board_watches_board ON board_watches (board_id);
