-- Members watching a board: every new thread in it notifies them.
CREATE TABLE board_watches (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    board_id INTEGER NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, board_id)
);
CREATE INDEX board_watches_board ON board_watches (board_id);
