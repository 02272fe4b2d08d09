-- Ask an expert: a member's private conversation on a field, waiting in that field's queue
-- until an expert of the field answers (and so takes it); its messages; and the answers that
-- became public FAQ entries, with the member's consent.
CREATE TABLE hub_conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    subject TEXT NOT NULL,
    lang TEXT NOT NULL,
    expert_id INTEGER REFERENCES users (id),
    -- 'waiting', 'open' or 'closed'
    status TEXT NOT NULL,
    faq_consent INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    first_answer_at INTEGER,
    -- Who gave the first answer (kept if that expert is later dismissed).
    first_answer_by INTEGER REFERENCES users (id),
    closed_at INTEGER
);
CREATE INDEX hub_conversations_queue ON hub_conversations (field, status, created_at);
CREATE INDEX hub_conversations_member ON hub_conversations (member_id, created_at);

CREATE TABLE hub_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES hub_conversations (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX hub_messages_conversation ON hub_messages (conversation_id, id);

CREATE TABLE hub_faq (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL UNIQUE REFERENCES hub_conversations (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    lang TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answer_html TEXT NOT NULL,
    expert_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);
