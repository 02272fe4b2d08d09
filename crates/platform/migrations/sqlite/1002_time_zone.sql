-- A member's time zone (an IANA name); NULL follows the browser.
ALTER TABLE users ADD COLUMN time_zone TEXT;
