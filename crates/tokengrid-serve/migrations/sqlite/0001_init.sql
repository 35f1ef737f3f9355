-- The job ledger and hub registry (SQLite).
CREATE TABLE hubs (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,            -- the registration as JSON
    token_hash TEXT NOT NULL,      -- SHA-256 of the hub's bearer token, hex
    registered_at_ms INTEGER NOT NULL
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- batch | training
    spec TEXT NOT NULL,            -- the submitted job as JSON
    state TEXT NOT NULL,           -- queued | scheduled | dispatched | rejected
    hub TEXT,
    start_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    claimed_by TEXT                -- the dispatcher replica that scheduled it
);
CREATE INDEX jobs_state ON jobs (state);

CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    energy_j REAL NOT NULL,
    cost REAL NOT NULL,
    at_ms INTEGER NOT NULL
);
