-- Proxied requests carry their outcome; jobs count how often they were taken from the queue.
ALTER TABLE requests ADD COLUMN status INTEGER NOT NULL DEFAULT 200;
ALTER TABLE requests ADD COLUMN usage_reported INTEGER NOT NULL DEFAULT 1;  -- 0: token counts estimated
ALTER TABLE requests ADD COLUMN complete INTEGER NOT NULL DEFAULT 1;        -- 0: the body ended early
ALTER TABLE requests ADD COLUMN latency_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_hub_due ON jobs (hub, state, start_at_ms);
-- Telemetry lives in the ledger too, so every replica sharing it sees each hub's heartbeat.
ALTER TABLE hubs ADD COLUMN telemetry TEXT;                 -- the latest telemetry as JSON
ALTER TABLE hubs ADD COLUMN last_seen_ms INTEGER NOT NULL DEFAULT 0;
