-- What changed, for notifications that say it (a request's new status).
ALTER TABLE notifications ADD COLUMN detail TEXT;
