-- queue_live loses agents_eligible and agents_available, and the two SQL functions
-- behind them (agent_fits, free_slots) go: they were a second, hand-written copy of
-- AgentState.speaks, has_skills and free_slots. The read API now counts staffing at
-- read time with those methods (projections/queues/staffing.py), from the agents'
-- stored states and the language, required skills and channel queue_waiting keeps.

DROP VIEW {schema}.queue_live;
DROP FUNCTION {schema}.agent_fits(jsonb, jsonb, jsonb, text);
DROP FUNCTION {schema}.free_slots(jsonb, jsonb, text);

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
