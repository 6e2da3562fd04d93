-- +goose Up
-- former_emails are the addresses contacts gave up for new ones (an identify with another
-- address releases the old identity). A CSV row imported before under such an address
-- still finds the person it was imported into, and changes nothing the second time. The
-- contact may be one merged away since; contact_merges leads on.
CREATE TABLE former_emails (
    value TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    PRIMARY KEY (value, contact_id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE former_emails;
