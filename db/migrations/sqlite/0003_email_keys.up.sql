-- Addresses are one identity whatever their case, and count only once
-- their owner proved them (the address-squatting and account
-- pre-hijacking defences). Kept in step with ../mysql/0003_email_keys.up.sql.
--
-- email stays as the user typed it (for display). email_key is its
-- lower-case form (ASCII letters folded: the service takes only ASCII
-- addresses), the key of every lookup. verified_key is email_key once the
-- address is verified, else NULL: its unique index lets one account at
-- most hold a verified address, while any number may hold it unverified
-- until one proves the mailbox (the index keeps its old name,
-- emails_email_uq: it is still the uniqueness of addresses). One account
-- holds a key once.
--
-- Existing addresses that differ only in case collide on the new keys.
-- They are kept, not merged: the first of each group (verified first,
-- then the earliest verified, then the oldest) keeps the key; each other
-- gets email_key "<key>#<its id>" (never an address, so no lookup finds
-- it) and no verified_key. authgw reports those IDs at every start
-- (db.EmailKeyCollisions) until an operator deletes or changes them.

ALTER TABLE emails ADD COLUMN email_key TEXT NOT NULL DEFAULT '' CONSTRAINT emails_email_key_len CHECK (length(email_key) <= 360);

ALTER TABLE emails ADD COLUMN verified_key TEXT CONSTRAINT emails_verified_key_len CHECK (length(verified_key) <= 360);

UPDATE emails SET email_key = REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(email, 'A', 'a'), 'B', 'b'), 'C', 'c'), 'D', 'd'), 'E', 'e'), 'F', 'f'), 'G', 'g'), 'H', 'h'), 'I', 'i'), 'J', 'j'), 'K', 'k'), 'L', 'l'), 'M', 'm'), 'N', 'n'), 'O', 'o'), 'P', 'p'), 'Q', 'q'), 'R', 'r'), 'S', 's'), 'T', 't'), 'U', 'u'), 'V', 'v'), 'W', 'w'), 'X', 'x'), 'Y', 'y'), 'Z', 'z');

UPDATE emails SET email_key = email_key || '#' || id WHERE id IN (SELECT e.id FROM emails e JOIN emails w ON w.email_key = e.email_key AND w.id <> e.id WHERE (w.verified_ms IS NOT NULL AND e.verified_ms IS NULL) OR ((w.verified_ms IS NULL) = (e.verified_ms IS NULL) AND (COALESCE(w.verified_ms, 0), w.created_ms, w.id) < (COALESCE(e.verified_ms, 0), e.created_ms, e.id)));

UPDATE emails SET verified_key = email_key WHERE verified_ms IS NOT NULL AND email_key NOT LIKE '%#%';

DROP INDEX emails_email_uq;

CREATE UNIQUE INDEX emails_email_uq ON emails (verified_key);

CREATE UNIQUE INDEX emails_user_key_uq ON emails (user_id, email_key);

CREATE INDEX emails_email_key_idx ON emails (email_key);

-- mail_sends: one row per verification mail sent, per subject it counts
-- against (an address's key hash, a user): the windowed counters that
-- bound the mails one caller can send to an address, or one user can
-- have sent (mail bombing). Rows older than the window are deleted as
-- new ones are written.
CREATE TABLE mail_sends (
  id      TEXT    NOT NULL PRIMARY KEY,
  subject TEXT    NOT NULL,
  sent_ms INTEGER NOT NULL,
  CONSTRAINT mail_sends_id_len CHECK (length(id) <= 36),
  CONSTRAINT mail_sends_subject_len CHECK (length(subject) <= 80)
) STRICT;

CREATE INDEX mail_sends_subject_idx ON mail_sends (subject, sent_ms);
