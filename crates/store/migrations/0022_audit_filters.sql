-- The audit page's filters (actor, action, institution) read their newest entries and count
-- their matches through these indexes instead of scanning the whole log: at 10 million entries
-- a filtered page took 1.4-7.3 s without them (haechi bench audit, issue #18 item 6).
CREATE INDEX audit_log_actor_seq ON audit_log (actor_name, seq);
CREATE INDEX audit_log_action_seq ON audit_log (action, seq);
CREATE INDEX audit_log_institution_seq ON audit_log (institution_id, seq);
