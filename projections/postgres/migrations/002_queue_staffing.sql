-- queue_live gains the agents who could take each queue's work (DESIGN.md §5):
-- eligible (logged in, with the skills and language of at least one conversation
-- waiting there) and available (of those, status available with a free slot on
-- that conversation's channel). The projector knows no routing configuration, so
-- these are the agents' own skills, languages and stated capacities, before a
-- router's domain filter, bullseye relaxation or mixing rules.

ALTER TABLE {schema}.queue_waiting
    ADD COLUMN language text NOT NULL DEFAULT 'en',
    ADD COLUMN required_skills jsonb NOT NULL DEFAULT '{{}}'::jsonb;

UPDATE {schema}.queue_waiting w
   SET language = coalesce(c.state ->> 'language', 'en'),
       required_skills = coalesce(c.state -> 'required_skills', '{{}}'::jsonb)
  FROM {schema}.conversations c
 WHERE c.conversation_id = w.conversation_id;

ALTER TABLE {schema}.queue_waiting
    ALTER COLUMN language DROP DEFAULT,
    ALTER COLUMN required_skills DROP DEFAULT;

-- AgentState.speaks and AgentState.has_skills, in SQL (an agent stating no language
-- works in English; a missing skill is proficiency 0).
CREATE FUNCTION {schema}.agent_fits(agent_skills jsonb, agent_languages jsonb,
                                    required jsonb, lang text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(nullif(agent_languages, '[]'::jsonb), '["en"]'::jsonb) ? lang
       AND NOT EXISTS (SELECT 1 FROM jsonb_each_text(required) r
                        WHERE coalesce((agent_skills ->> r.key)::integer, 0) < r.value::integer)
$$;

-- AgentState.free_slots for a logged-in agent: chat and voice are one at a time and
-- exclude each other; other channels take up to the stated capacity.
CREATE FUNCTION {schema}.free_slots(capacity jsonb, holding jsonb, channel text)
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN channel IN ('chat', 'voice')
             AND coalesce(jsonb_array_length(holding -> 'chat'), 0)
                 + coalesce(jsonb_array_length(holding -> 'voice'), 0) > 0 THEN 0
        ELSE greatest(0, coalesce((capacity ->> channel)::integer, 0)
                         - coalesce(jsonb_array_length(holding -> channel), 0))
    END
$$;

CREATE OR REPLACE VIEW {schema}.queue_live AS
SELECT w.queue,
       count(*)::integer           AS waiting,
       count(w.offered_to)::integer AS offered,
       min(w.since)                AS oldest_since,
       (SELECT jsonb_object_agg(p.priority::text, p.n ORDER BY p.priority)
          FROM (SELECT priority, count(*)::integer AS n FROM {schema}.queue_waiting
                 WHERE queue = w.queue GROUP BY priority) p) AS by_priority,
       (SELECT jsonb_object_agg(c.channel, c.n ORDER BY c.channel)
          FROM (SELECT channel, count(*)::integer AS n FROM {schema}.queue_waiting
                 WHERE queue = w.queue GROUP BY channel) c) AS by_channel,
       (SELECT count(*)::integer FROM {schema}.agents a
         WHERE a.logged_in AND EXISTS (
               SELECT 1 FROM {schema}.queue_waiting q
                WHERE q.queue = w.queue
                  AND {schema}.agent_fits(a.skills, a.state -> 'languages',
                                          q.required_skills, q.language))) AS agents_eligible,
       (SELECT count(*)::integer FROM {schema}.agents a
         WHERE a.logged_in AND a.status = 'available' AND EXISTS (
               SELECT 1 FROM {schema}.queue_waiting q
                WHERE q.queue = w.queue
                  AND {schema}.agent_fits(a.skills, a.state -> 'languages',
                                          q.required_skills, q.language)
                  AND {schema}.free_slots(a.capacity, a.holding, q.channel) > 0))
         AS agents_available
  FROM {schema}.queue_waiting w
 GROUP BY w.queue;
