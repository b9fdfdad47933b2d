// Package password hashes, verifies and vets user passwords (the README's "Login and sessions").
//
// Hash writes argon2id PHC strings,
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with the salt and key in unpadded standard base64, as the PHC string
// format says. DefaultParams are OWASP's minimum for argon2id (19 MiB,
// two passes, one lane); callers may tune them upwards.
//
// Verify checks a password against such a string, or against a bcrypt
// hash ($2a$, $2b$, $2y$) imported from the original auth-gateway, and
// says whether the stored hash should be replaced by one made with the
// current parameters: always for bcrypt, and for argon2id whenever the
// stored memory, time, parallelism, salt or key length differ. The
// comparison runs in constant time. A stored hash is input like any
// other: Verify refuses (with an error, never a panic) a malformed
// string, an unknown algorithm or version, and parameters above
// MaxMemory, MaxTime, MaxThreads, MaxKeyLen or MaxBcryptCost, so that a
// hostile row cannot make one login allocate gigabytes or spin for
// minutes.
//
// CheckPolicy is the password policy: 8 to 256 characters (counted as
// Unicode code points), no composition rules; not one of the common
// passwords embedded from common-passwords.txt (every entry of 8 or more
// characters of a public list, see common-passwords.LICENSE) and
// common-passwords-authgw.txt (authgw's own additions), compared
// lower-cased; not a predictable pattern (a repeat, a run, a season or
// month and a year); and not made of context words: the product's name,
// the user's name and address parts and the organization's name, with
// digits and punctuation around them.
//
// BreachedChecker is an optional further check against a corpus of
// breached passwords; RangeDir implements it offline over a directory of
// k-anonymity range files (SHA-1 prefix files of "SUFFIX:COUNT" lines).
package password
