-- When the "opens soon" reminder went to the drop's reservers (once, by whichever node claims it).
ALTER TABLE drops ADD COLUMN reminder_sent_at BIGINT;
