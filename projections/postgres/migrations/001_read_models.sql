-- Durable read models (DESIGN.md §5). Every object lives in the schema given at
-- migration time: {schema} is substituted with psycopg.sql.Identifier, so a
-- rebuild can target a fresh schema. Literal braces are doubled ({{}}).

CREATE TABLE {schema}.conversations (
    conversation_id           text PRIMARY KEY,
    channel                   text NOT NULL,
    mode                      text NOT NULL,
    customer_id               text NOT NULL,
    queue                     text NOT NULL,
    priority                  integer NOT NULL,
    phase                     text NOT NULL,
    substatus                 text NOT NULL,
    agent_id                  text,
    started_at                timestamptz NOT NULL,
    first_queued_at           timestamptz,
    queued_at                 timestamptz,
    first_assigned_at         timestamptz,
    first_customer_message_at timestamptz,
    first_human_reply_at      timestamptz,
    resolved_at               timestamptz,
    abandoned_at              timestamptz,
    resolved_by               text,
    messages_in               integer NOT NULL,
    messages_out_agent        integer NOT NULL,
    messages_out_bot          integer NOT NULL,
    offers                    integer NOT NULL,
    transfers                 integer NOT NULL,
    escalations               integer NOT NULL,
    reopens                   integer NOT NULL,
    csat                      integer,
    nps                       integer,
    ces                       integer,
    last_event_at             timestamptz NOT NULL,
    state                     jsonb NOT NULL
);
CREATE INDEX conversations_agent_idx ON {schema}.conversations (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX conversations_customer_idx ON {schema}.conversations (customer_id);

CREATE TABLE {schema}.agents (
    agent_id     text PRIMARY KEY,
    logged_in    boolean NOT NULL,
    status       text NOT NULL,
    status_since timestamptz,
    skills       jsonb NOT NULL,
    capacity     jsonb NOT NULL,
    holding      jsonb NOT NULL,
    state        jsonb NOT NULL
);

-- One row per conversation waiting in a queue (phase queued or offered).
CREATE TABLE {schema}.queue_waiting (
    conversation_id text PRIMARY KEY,
    queue           text NOT NULL,
    priority        integer NOT NULL,
    channel         text NOT NULL,
    since           timestamptz NOT NULL,
    offered_to      text
);
CREATE INDEX queue_waiting_order_idx ON {schema}.queue_waiting (queue, priority DESC, since);

-- Per queue: how many wait, how many of them are offered, the oldest wait, and counts.
CREATE VIEW {schema}.queue_live AS
SELECT w.queue,
       count(*)::integer           AS waiting,
       count(w.offered_to)::integer AS offered,
       min(w.since)                AS oldest_since,
       (SELECT jsonb_object_agg(p.priority::text, p.n ORDER BY p.priority)
          FROM (SELECT priority, count(*)::integer AS n FROM {schema}.queue_waiting
                 WHERE queue = w.queue GROUP BY priority) p) AS by_priority,
       (SELECT jsonb_object_agg(c.channel, c.n ORDER BY c.channel)
          FROM (SELECT channel, count(*)::integer AS n FROM {schema}.queue_waiting
                 WHERE queue = w.queue GROUP BY channel) c) AS by_channel
  FROM {schema}.queue_waiting w
 GROUP BY w.queue;

-- Agents with their load per channel against capacity.
CREATE VIEW {schema}.agents_live AS
SELECT a.agent_id,
       a.logged_in,
       a.status,
       a.status_since,
       a.skills,
       a.capacity,
       (SELECT coalesce(jsonb_object_agg(h.key, jsonb_array_length(h.value)), '{{}}'::jsonb)
          FROM jsonb_each(a.holding) h) AS load,
       (SELECT coalesce(jsonb_object_agg(k.channel, jsonb_build_object(
                   'load', coalesce(jsonb_array_length(a.holding -> k.channel), 0),
                   'capacity', coalesce((a.capacity ->> k.channel)::integer, 0))
                 ORDER BY k.channel), '{{}}'::jsonb)
          FROM (SELECT jsonb_object_keys(a.capacity) AS channel
                UNION SELECT jsonb_object_keys(a.holding)) k) AS channels,
       (SELECT coalesce(sum(jsonb_array_length(h.value)), 0)::integer
          FROM jsonb_each(a.holding) h) AS total_load,
       coalesce(jsonb_array_length(a.state -> 'offered'), 0) AS offers_pending
  FROM {schema}.agents a;

-- The next offset to consume per partition, written in the same transaction as the rows.
CREATE TABLE {schema}.projector_offsets (
    consumer    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);

-- Records that could not be projected: kept with the reason and the original bytes.
CREATE TABLE {schema}.projection_rejects (
    topic     text NOT NULL,
    partition integer NOT NULL,
    "offset"  bigint NOT NULL,
    event_id  text,
    reason    text NOT NULL,
    detail    text NOT NULL,
    raw       bytea NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);
