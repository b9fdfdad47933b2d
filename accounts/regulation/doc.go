// Package regulation stops brute force against the login steps (the README's "Brute force and enumeration"):
// it counts the failed password, code and TOTP attempts of each account
// and of each client IP address, and bans a subject whose failures within
// a sliding window reach its maximum. It decides nothing else: the login
// flow asks Check before it tries a step and reports each failed step to
// Fail; the HTTP answer (429 with Retry-After, or 503) is the caller's.
//
// # Subjects and thresholds
//
// Callers name two kinds of Subject: an account (KindAccount: the user
// ID, or the normalized email address that was tried when no user
// matches) and an IP address (KindIP: its text). The regulator counts
// per source, not per address: an IPv4 address, or the /64 of an IPv6
// address (one subscriber's network, whose addresses cost nothing to
// change). From these it derives what it counts:
//
//   - a source: MaxIPFailures (default 20) failures within Window (5
//     minutes) ban it for BanTime (15 minutes). Higher than the account
//     maximum, since many honest users share one address behind a NAT.
//   - an account from a source (KindAccountIP, when Fail is given both):
//     MaxFailures (default 5) failures ban that source from that account
//     for BanTime. The guesser is stopped; the owner, from elsewhere, is
//     not.
//   - an account from all sources: MaxFailures failures never ban it;
//     they delay its checks (Delay): AccountDelay (1 s) after the
//     failure that reached the maximum, doubled for each further one,
//     at most MaxAccountDelay (5 s). The login waits the delay out and
//     then tries the step. A guesser with many sources is slowed down;
//     the owner waits at most MaxAccountDelay and is never locked out by
//     strangers. An account alone is never banned, so Check of an
//     account without an IP always passes. Parallel guesses would all
//     sit out one delay together, so callers take the account's Turn
//     first: one guess per account at a time (in this process, and in
//     Redis when configured), and the delays add up.
//   - an account at the steps only someone past its first factor
//     reaches (KindFactor, named by the caller: the TOTP login step, the
//     proofs of an authenticated user): MaxFactorFailures (default 10)
//     failures from all sources within FactorWindow (15 minutes) ban it
//     there for BanTime. No stranger reaches those steps, so this cap is
//     no lever against the owner; it bounds a second factor guessed from
//     many sources at once.
//
// Asking for a login code is not a failure. RequestCode counts those
// requests apart, per (address, source) (KindMailPair, MaxCodeRequests:
// 5) and per source (KindMailIP, MaxIPCodeRequests: 20) within Window;
// past either the request is refused until Window has passed. The
// address from all sources is counted by RequestCodeToAddress
// (KindMail, MaxCodeRequests), which the caller asks only for sources
// the account has not logged in from: strangers on many sources bound
// what is mailed to unknown sources, never what the owner's own sources
// get. Login steps are not affected, so strangers who ask for codes for
// someone's address cannot close their password step.
//
// A failure counts while it is less than Window old, whatever the step
// and whether or not the subject has been banned since, so after a ban
// one more failure bans again while the window still holds the earlier
// ones. Callers should not call Fail for a step they refused to try
// because Check said banned; if they do, each such call at or above the
// maximum moves the end of the ban to now+BanTime. A ban never shortens:
// the later end wins.
//
// # Success does not reset
//
// A successful step resets nothing, and there is no method to do it. If a
// success cleared the counters, an attacker who knows one account's
// password could log into it between guesses and so reset the counter of
// the IP address it guesses other accounts' passwords from; and a user
// who logs in would wipe the evidence of a guessing campaign against
// their account. Failures simply age out of the window.
//
// # Storage
//
// With Config.Store (the SQL store, db.DB) every failure is a row and each
// Fail counts the subject's rows in the window. With Config.Redis the
// failures and bans live in Redis instead, so that N gateway processes
// share them without writing SQL on each failure:
//
//	<prefix>f:<kind>:{<sha256 hex of value>}  sorted set of failures, scored by ms, PEXPIRE Window
//	<prefix>b:<kind>:{<sha256 hex of value>}  end of the ban in Unix ms, PX BanTime
//
// The prefix defaults to "authgw:reg:". Values are hashed so that no email
// address is written to Redis in clear. The braces are a Redis Cluster
// hash tag: one subject's two keys share a slot, as the script that
// updates both needs. Fail runs one Lua script per subject (all subjects
// in one pipeline) that adds the failure, drops those older than Window,
// counts the rest and, at the maximum, sets the ban unless a later one is
// already set; so concurrent failures from many processes are all counted.
// Check reads the ban keys in one pipeline.
//
// Times are those of Config.Now, the gateway's clock, and are written as
// values (sorted-set scores, the ban's end): a ban ends when Now reaches
// the stored end, so all processes must keep their clocks in sync (NTP).
// Redis expiries only drop keys that no longer matter.
//
// # Failing closed
//
// When the store or Redis fails (or ctx ends, or Config.Timeout passes),
// Check and Fail return an error wrapping ErrUnavailable: the login must
// then refuse the step (503), since an attacker who can overload the
// store must not get unregulated guesses. A banned subject yields a
// *BannedError, which wraps ErrBanned and names the subject's kind and
// the end of the ban, never the subject's value.
package regulation
