-- +goose Up
-- Contacts are found by address through identities; nothing reads this index, and every
-- new person and changed address wrote a random page of it.
DROP INDEX contacts_email;

-- +goose Down
CREATE INDEX contacts_email ON contacts (email);
