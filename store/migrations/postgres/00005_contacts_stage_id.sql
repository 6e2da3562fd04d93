-- +goose Up
-- Contacts of one stage in id order (the default listing): without it, listing the
-- first hundred of a million leads sorted every one of them. It changes only when a
-- contact's stage does, so ingest barely pays for it.
CREATE INDEX contacts_stage_id ON contacts (stage, id);

-- +goose Down
DROP INDEX contacts_stage_id;
