-- agents_live no longer fails on one agent: a capacity that is not an integer PostgreSQL
-- can hold (stored before the event bounds, or by another writer) reads as null for that
-- channel instead of failing the whole view (`value "1000000000000" is out of range for
-- type integer` took GET /v1/agents down for good, issue 12).

CREATE FUNCTION {schema}.int_or_null(value jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    -- CASE branches run in order (AND does not promise to): no cast of a non-number.
    SELECT CASE WHEN jsonb_typeof(value) IS DISTINCT FROM 'number' THEN NULL
                WHEN value::numeric BETWEEN -2147483648 AND 2147483647
                THEN value::numeric::integer END
$$;

CREATE OR REPLACE VIEW {schema}.agents_live AS
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
                   'capacity', CASE WHEN a.capacity ? k.channel
                                    THEN {schema}.int_or_null(a.capacity -> k.channel)
                                    ELSE 0 END)
                 ORDER BY k.channel), '{{}}'::jsonb)
          FROM (SELECT jsonb_object_keys(a.capacity) AS channel
                UNION SELECT jsonb_object_keys(a.holding)) k) AS channels,
       (SELECT coalesce(sum(jsonb_array_length(h.value)), 0)::integer
          FROM jsonb_each(a.holding) h) AS total_load,
       coalesce(jsonb_array_length(a.state -> 'offered'), 0) AS offers_pending
  FROM {schema}.agents a;
