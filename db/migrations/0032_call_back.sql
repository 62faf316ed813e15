-- Issue #18: a dispatcher calls back a caller who hung up in the queue. The abandoned call leaves the call-back list
-- for 'called_back' in one conditional UPDATE (two dispatchers never both ring the caller); the Twilio call that
-- rang the dispatcher's desk line and then the caller is kept beside it.
ALTER TABLE calls DROP CONSTRAINT calls_state_check;
ALTER TABLE calls ADD CONSTRAINT calls_state_check
    CHECK (state IN ('waiting', 'active', 'abandoned', 'called_back', 'ended'));
ALTER TABLE calls ADD COLUMN called_back_by text;
ALTER TABLE calls ADD COLUMN called_back_at timestamptz;
ALTER TABLE calls ADD COLUMN callback_sid text;
