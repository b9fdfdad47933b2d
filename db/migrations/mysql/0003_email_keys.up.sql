-- Addresses are one identity whatever their case, and count only once
-- their owner proved them (the address-squatting and account
-- pre-hijacking defences). Kept in step with ../sqlite/0003_email_keys.up.sql.
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

ALTER TABLE emails ADD COLUMN email_key VARCHAR(360) NOT NULL DEFAULT '', ADD COLUMN verified_key VARCHAR(360) NULL;

UPDATE emails SET email_key = REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(email, 'A', 'a'), 'B', 'b'), 'C', 'c'), 'D', 'd'), 'E', 'e'), 'F', 'f'), 'G', 'g'), 'H', 'h'), 'I', 'i'), 'J', 'j'), 'K', 'k'), 'L', 'l'), 'M', 'm'), 'N', 'n'), 'O', 'o'), 'P', 'p'), 'Q', 'q'), 'R', 'r'), 'S', 's'), 'T', 't'), 'U', 'u'), 'V', 'v'), 'W', 'w'), 'X', 'x'), 'Y', 'y'), 'Z', 'z');

UPDATE emails SET email_key = CONCAT(email_key, '#', id) WHERE id IN (SELECT id FROM (SELECT e.id FROM emails e JOIN emails w ON w.email_key = e.email_key AND w.id <> e.id WHERE (w.verified_ms IS NOT NULL AND e.verified_ms IS NULL) OR ((w.verified_ms IS NULL) = (e.verified_ms IS NULL) AND (COALESCE(w.verified_ms, 0), w.created_ms, w.id) < (COALESCE(e.verified_ms, 0), e.created_ms, e.id))) AS losers);

UPDATE emails SET verified_key = email_key WHERE verified_ms IS NOT NULL AND email_key NOT LIKE '%#%';

ALTER TABLE emails DROP INDEX emails_email_uq, ADD UNIQUE INDEX emails_email_uq (verified_key), ADD UNIQUE INDEX emails_user_key_uq (user_id, email_key), ADD INDEX emails_email_key_idx (email_key);

-- mail_sends: one row per verification mail sent, per subject it counts
-- against (an address's key hash, a user): the windowed counters that
-- bound the mails one caller can send to an address, or one user can
-- have sent (mail bombing). Rows older than the window are deleted as
-- new ones are written.
CREATE TABLE mail_sends (
  id      CHAR(36)    NOT NULL,
  subject VARCHAR(80) NOT NULL,
  sent_ms BIGINT      NOT NULL,
  PRIMARY KEY (id),
  INDEX mail_sends_subject_idx (subject, sent_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
