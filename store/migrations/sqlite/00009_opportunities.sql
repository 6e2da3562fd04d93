-- +goose Up
-- opportunities are sales' deals; their contacts move to the agreement's opportunity
-- and customer stages as deals are created and won.
CREATE TABLE opportunities (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    external_id TEXT,
    account_id INTEGER,
    amount REAL NOT NULL DEFAULT 0,
    currency TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    expected_close INTEGER,
    owner TEXT NOT NULL DEFAULT '',
    lost_reason TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    closed_at INTEGER
);
CREATE UNIQUE INDEX opportunities_external ON opportunities (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX opportunities_account ON opportunities (account_id, id);
CREATE TABLE opportunity_contacts (
    opportunity_id INTEGER NOT NULL REFERENCES opportunities (id),
    contact_id INTEGER NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (opportunity_id, contact_id)
);
CREATE INDEX opportunity_contacts_contact ON opportunity_contacts (contact_id);

-- +goose Down
DROP TABLE opportunity_contacts;
DROP TABLE opportunities;
