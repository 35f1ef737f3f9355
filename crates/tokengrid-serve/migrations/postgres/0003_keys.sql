-- Hub credentials, sealed (AES-256-GCM under the key in TOKENGRID_SECRET_KEY), and client API
-- keys: the secret is stored only as its SHA-256; limits and residency as JSON.
ALTER TABLE hubs ADD COLUMN api_key_sealed TEXT;           -- hex(nonce || ciphertext), or NULL
CREATE TABLE client_keys (
    id TEXT PRIMARY KEY,               -- public id, the secret's prefix (tg-<id>-...)
    name TEXT NOT NULL,                -- what or whom it is for
    secret_hash TEXT NOT NULL UNIQUE,  -- SHA-256 of the whole secret, hex
    spec TEXT NOT NULL,                -- models, limits, residency, as JSON
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT                   -- NULL while it is valid
);
ALTER TABLE requests ADD COLUMN client_key TEXT;           -- the key's id, when a key was used
