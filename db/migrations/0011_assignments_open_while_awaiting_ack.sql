-- An assignment is "open" only while it awaits acknowledgement (docs/reliability.md, case 28); rows written
-- before that rule kept acknowledged ones open and the escalation ladder scanned them forever.
DO $$
BEGIN
    IF to_regclass('assignments') IS NOT NULL THEN
        UPDATE assignments SET is_open = false WHERE is_open AND doc->>'status' <> 'awaiting_ack';
    END IF;
END
$$;
