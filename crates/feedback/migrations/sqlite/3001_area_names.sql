-- An area's and its team's names in each language, as a JSON object {"en": …, "fr": …, "zh": …};
-- `name` and `team` stay the canonical ones (and the team's key for the award).
ALTER TABLE areas ADD COLUMN names TEXT NOT NULL DEFAULT '{}';
ALTER TABLE areas ADD COLUMN team_names TEXT NOT NULL DEFAULT '{}';
