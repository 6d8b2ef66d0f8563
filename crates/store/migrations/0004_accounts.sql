-- Web portal accounts (issue 3): browser sessions kept in the database so that several
-- `haechi serve` behind a load balancer share them, and the login throttle.
--
-- A session is known by the SHA-256 of its cookie value; the cookie itself is never stored.
-- The CSRF token of the session's forms is stored as is: it only proves that a form came from a
-- page this session was shown.

CREATE TABLE sessions (
    id_sha256 TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    address TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One row per throttled key ("account:<username>" or "address:<ip>"): consecutive failures and
-- the time before which the next attempt is refused without checking the password.
CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at TEXT NOT NULL,
    locked_until TEXT
);

ALTER TABLE users ADD COLUMN password_changed_at TEXT;
