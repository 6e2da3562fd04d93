-- +goose Up
-- password_hash is a user's argon2id password hash (PHC string); empty until one is set.
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';

-- sessions are signed-in browsers. Only a hash of the cookie's secret is kept; csrf is
-- the token every form of the session carries.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- +goose Down
DROP TABLE sessions;
ALTER TABLE users DROP COLUMN password_hash;
