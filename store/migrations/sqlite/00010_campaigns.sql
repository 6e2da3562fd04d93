-- +goose Up
-- campaigns are marketing efforts whose touches are recognised from events: UTM tags,
-- a track event, or membership of the campaign's list.
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    cost REAL NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'USD',
    starts_at INTEGER,
    ends_at INTEGER,
    utm_campaign TEXT NOT NULL DEFAULT '',
    utm_source TEXT NOT NULL DEFAULT '',
    utm_medium TEXT NOT NULL DEFAULT '',
    track_event TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE TABLE campaign_members (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    contact_id INTEGER NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, contact_id)
);
CREATE INDEX campaign_members_contact ON campaign_members (contact_id);

-- +goose Down
DROP TABLE campaign_members;
DROP TABLE campaigns;
