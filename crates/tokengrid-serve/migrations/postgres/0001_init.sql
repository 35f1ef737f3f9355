-- The job ledger and hub registry (PostgreSQL), shared by several dispatcher replicas.
CREATE TABLE hubs (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    registered_at_ms BIGINT NOT NULL
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    hub TEXT,
    start_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    claimed_by TEXT
);
CREATE INDEX jobs_state ON jobs (state);

CREATE TABLE requests (
    id BIGSERIAL PRIMARY KEY,
    hub TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    energy_j DOUBLE PRECISION NOT NULL,
    cost DOUBLE PRECISION NOT NULL,
    at_ms BIGINT NOT NULL
);
