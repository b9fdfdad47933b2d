// Command authgw is the authgw binary: an authentication gateway and
// accounts service built on macaroons (see the README). This package only
// wires the other packages (policy, mint, verifier, db, gateway,
// accounts) to a command line and turns their outcomes into output and exit statuses.
//
// Usage:
//
//	authgw <command> [arguments]
//
// The token commands work offline, without a database:
//
//	keygen        print a new key ring (--id ID), or an existing ring
//	              with a new minting key first (--add FILE)
//	policy check  validate policy files and directories; prints
//	              "FILE: PATH: REASON" per problem and "ok FILE" per
//	              valid file
//	mint          mint one token per HTTP method that the given policies
//	              grant a subject, printed as {"GET":"<token>",...}
//	inspect       decode a token: identifier, caveats, and with a key
//	              ring whether the signature is valid
//	attenuate     add routes, time-before, ip or method caveats to a
//	              token without any secret; it can only narrow
//	check         tell whether a request would be allowed, running the
//	              verifier's own code (verifier.Verifier.Verify)
//
// The server and its set-up use the database (--database, else
// AUTHGW_DATABASE, else the config file, else sqlite:DATA-DIR/authgw.db):
//
//	serve         run the gateway and the accounts service; on first
//	              start, create the data directory's database, key ring,
//	              server ID, request-info and TOTP keys and example
//	              policies; on the embedded defaults, a demo backend
//	migrate       apply, revert or list schema migrations
//	bootstrap     create the first organization, sysadmin user and
//	              system client (its secret printed once)
//	apis          add, list or remove backend APIs
//	sessions      end sessions: all of them, a user's, or one
//	audit tail    print the audit log's security events; --follow polls
//	totp reseal   re-seal every TOTP secret with the newest key of the
//	              TOTP key ring, so that older keys can be removed
//	users         list, show, ban, unban a user, or change its roles
//	clients       list, create, rotate-secret, restrict an API client;
//	              oidc sets its OpenID Connect settings
//	orgs          list or create organizations
//
// users, clients and orgs take the accounts API's management actions
// through accounts.Operator (admin.go), with the API's checks and
// effects, never with SQL of their own.
//
// And one works on the request-info key file alone:
//
//	keys rotate-info  give the request-info key file a new signing key,
//	                  keeping the old one published (--drop-previous
//	                  removes it once every instance signs with the new)
//
// And one reads only the binary itself:
//
//	version       the module version, VCS revision and Go version the
//	              build recorded
//
// Their settings come from the flag, else AUTHGW_<NAME>, else the JSON
// config file (--config, else AUTHGW_CONFIG), else the default.
//
// Flags may come before or after positional arguments and may be
// written -flag or --flag; every command takes --help. A TOKEN argument
// of "-" is read from standard input.
//
// Commands that need a key ring or a server ID take them from --keys
// and --server-id, else from AUTHGW_KEYS (a key-ring file, or the ring's
// JSON when the value starts with "{") and AUTHGW_SERVER_ID, else from
// keys.json and server-id in the data directory (--data-dir, else
// AUTHGW_DATA_DIR, else ./authgw-data).
//
// Exit status: 0 on success (for check: allowed), 1 on failure (denied,
// invalid signature, policy problems), 2 on a usage error or a missing
// setting. Errors are one line on standard error starting "authgw: ".
// No command prints a secret except keygen, whose output is the ring,
// and bootstrap, which prints the system client's secret once.
package main
