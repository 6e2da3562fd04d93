-- +goose Up
-- crm_ids are the ids contacts and accounts have in the CRM they were imported from:
-- a re-import finds them by it, and imported deals name their people and companies by
-- it. A contact's local id may be one merged away since; contact_merges leads on.
CREATE TABLE crm_ids (
    object TEXT NOT NULL CHECK (object IN ('contact', 'account')),
    external_id TEXT NOT NULL,
    local_id INTEGER NOT NULL,
    PRIMARY KEY (object, external_id)
) WITHOUT ROWID;
CREATE INDEX crm_ids_local ON crm_ids (object, local_id);
-- An export finds the CRM ids of a contact through the contacts merged into it.
CREATE INDEX contact_merges_into ON contact_merges (into_id);
-- Imported deals may name their account by its name alone.
CREATE INDEX accounts_name ON accounts (name);

-- +goose Down
DROP INDEX accounts_name;
DROP INDEX contact_merges_into;
DROP TABLE crm_ids;
