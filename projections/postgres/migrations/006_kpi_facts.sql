-- The durable KPI store (issue 13): the definition-free facts every KPI is computed from,
-- written by the projector in the batch's transaction, so any period can be computed,
-- exactly, under any definitions (projections/kpi). A fact or point is the same however
-- often it is derived (its id), so a redelivered batch adds nothing. `doc` holds the
-- whole fact; the other columns are what reads select by.
CREATE TABLE {schema}.kpi_facts (
    fact_id         text PRIMARY KEY,
    kind            text NOT NULL,
    at              timestamptz NOT NULL,
    conversation_id text NOT NULL,
    customer_id     text NOT NULL,
    queue           text NOT NULL,
    channel         text NOT NULL,
    agent_id        text,
    doc             jsonb NOT NULL
);
CREATE INDEX kpi_facts_at ON {schema}.kpi_facts (at);

CREATE TABLE {schema}.kpi_agent_points (
    point_id text PRIMARY KEY,
    agent_id text NOT NULL,
    at       timestamptz NOT NULL,
    doc      jsonb NOT NULL
);
CREATE INDEX kpi_agent_points_at ON {schema}.kpi_agent_points (at);
