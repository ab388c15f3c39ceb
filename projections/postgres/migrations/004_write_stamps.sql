-- Every write of a conversation or agent row stamps it with a number drawn for the batch
-- that wrote it (63 random bits). A projector keeps the states it wrote with their stamp
-- and, inside the next transaction, reads back only the stamps of the rows it locks: a
-- row that still holds its stamp holds the state it remembers, which is then neither
-- transferred nor parsed again. Any other write (a second projector, a rebuild) draws
-- another stamp; a row without one (NULL) is always read.
ALTER TABLE {schema}.conversations ADD COLUMN write_stamp bigint;
ALTER TABLE {schema}.agents ADD COLUMN write_stamp bigint;
