package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Exit statuses.
const (
	exitOK      = 0 // done; for check, the request is allowed
	exitFailure = 1 // failed, denied or invalid
	exitUsage   = 2 // the command line is wrong or a setting is missing
)

// environment is what the process takes from outside besides its
// arguments and standard streams. Tests pass a fixed clock, their own
// variables and, where they need it, a deterministic random source.
type environment struct {
	// lookupEnv reads an environment variable, as os.LookupEnv does.
	lookupEnv func(string) (string, bool)
	// now is the clock.
	now func() time.Time
	// random is the source of keys, nonces and session IDs.
	random io.Reader
	// stop ends long-running commands (serve) when it is done. Optional:
	// by default, SIGINT or SIGTERM.
	stop context.Context
	// ownProcess: the process is authgw's alone (main), so serve makes its
	// logger the process's default, which the libraries that log only
	// through slog.Default (zitadel/oidc's provider) then use: their lines
	// follow --log-format and --log-level too. Tests that run commands in
	// the test process leave it false, so that no serve takes over the
	// default of the others.
	ownProcess bool
}

// withDefaults fills what a test left out: no variables, the wall clock
// and crypto/rand.
func (e environment) withDefaults() environment {
	if e.lookupEnv == nil {
		e.lookupEnv = func(string) (string, bool) { return "", false }
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.random == nil {
		e.random = rand.Reader
	}
	return e
}

// getenv returns the variable's value, "" when it is unset.
func (e environment) getenv(name string) string {
	v, _ := e.lookupEnv(name)
	return v
}

// cli is one invocation: its environment and standard streams.
type cli struct {
	environment
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand: the flags it takes and what it does with
// them and its positional arguments.
type command interface {
	// flagSet defines the command's flags, bound to the command's fields.
	flagSet() *flag.FlagSet
	// run executes the command once its flags are parsed.
	run(c *cli, args []string) error
}

// commandSpec names a command and documents it.
type commandSpec struct {
	name    string // as typed after authgw, e.g. "policy check"
	summary string // one line, for the command list
	usage   string // the --help text
	new     func() command
}

// commands are the subcommands, in the order the help lists them.
var commands = []commandSpec{
	{name: "keygen", summary: "print a new key ring, or a ring with a new minting key", usage: keygenUsage, new: func() command { return &keygenCommand{} }},
	{name: "keys rotate-info", summary: "rotate the request-info signing key, or drop the previous one", usage: keysRotateInfoUsage, new: func() command { return &keysRotateInfoCommand{} }},
	{name: "policy check", summary: "validate policy files and directories", usage: policyCheckUsage, new: func() command { return &policyCheckCommand{} }},
	{name: "mint", summary: "mint one token per granted method, offline", usage: mintUsage, new: func() command { return &mintCommand{} }},
	{name: "inspect", summary: "show a token's identifier and caveats; verify it with a key ring", usage: inspectUsage, new: func() command { return &inspectCommand{} }},
	{name: "discharge", summary: "get a step-up token's discharge from a running service, proving a factor", usage: dischargeUsage, new: func() command { return &dischargeCommand{} }},
	{name: "attenuate", summary: "narrow a token with more caveats, without any secret", usage: attenuateUsage, new: func() command { return &attenuateCommand{} }},
	{name: "check", summary: "tell whether a request would be allowed, and why not", usage: checkUsage, new: func() command { return &checkCommand{} }},
	{name: "migrate", summary: "apply, revert or list database schema migrations", usage: migrateUsage, new: func() command { return &migrateCommand{} }},
	{name: "bootstrap", summary: "create the first organization, sysadmin user and system client", usage: bootstrapUsage, new: func() command { return &bootstrapCommand{} }},
	{name: "serve", summary: "run the gateway and the accounts service", usage: serveUsage, new: func() command { return &serveCommand{} }},
	{name: "apis", summary: "add, list or remove backend APIs in the registry", usage: apisUsage, new: func() command { return &apisCommand{} }},
	{name: "webhooks", summary: "add, list or remove webhook subscriptions to the audit events", usage: webhooksUsage, new: func() command { return &webhooksCommand{} }},
	{name: "sessions", summary: "end sessions: all, a user's, or one", usage: sessionsUsage, new: func() command { return &sessionsCommand{} }},
	{name: "audit", summary: "audit tail: print the audit log's security events, the newest last", usage: auditUsage, new: func() command { return &auditCommand{} }},
	{name: "oidc-keygen", summary: "print a new OpenID Connect signing key, or a key file with a new key first", usage: oidcKeygenUsage, new: func() command { return &oidcKeygenCommand{} }},
	{name: "clients oidc", summary: "show or set an API client's OpenID Connect settings (redirect URIs, scopes)", usage: clientsOIDCUsage, new: func() command { return &clientsOIDCCommand{} }},
	// The admin commands: the accounts API's management actions, with its rules (admin.go).
	{name: "users list", summary: "list users, or an organization's members, a page at a time", usage: usersListUsage, new: func() command { return &usersListCommand{} }},
	{name: "users show", summary: "show a user: addresses, roles, memberships, live sessions", usage: usersShowUsage, new: func() command { return &usersShowCommand{} }},
	{name: "users ban", summary: "ban a user: sessions end, tokens refused", usage: usersBanUsage, new: func() command { return &usersBanCommand{} }},
	{name: "users unban", summary: "lift a user's ban", usage: usersUnbanUsage, new: func() command { return &usersBanCommand{unban: true} }},
	{name: "users roles", summary: "show, give or take a user's roles", usage: usersRolesUsage, new: func() command { return &usersRolesCommand{} }},
	{name: "clients list", summary: "list an organization's API clients", usage: clientsListUsage, new: func() command { return &clientsListCommand{} }},
	{name: "clients create", summary: "create an API client; prints its secret once", usage: clientsCreateUsage, new: func() command { return &clientsCreateCommand{} }},
	{name: "clients rotate-secret", summary: "give an API client a new secret; prints it once", usage: clientsRotateSecretUsage, new: func() command { return &clientsRotateCommand{} }},
	{name: "clients restrict", summary: "show, add or remove an API client's access restrictions", usage: clientsRestrictUsage, new: func() command { return &clientsRestrictCommand{} }},
	{name: "orgs list", summary: "list organizations", usage: orgsListUsage, new: func() command { return &orgsListCommand{} }},
	{name: "orgs create", summary: "create an organization with its first member", usage: orgsCreateUsage, new: func() command { return &orgsCreateCommand{} }},
	{name: "version", summary: "print the module version, VCS revision and Go version", usage: versionUsage, new: func() command { return &versionCommand{} }},
	{name: "totp reseal", summary: "re-seal every TOTP secret with the newest key of the ring", usage: totpResealUsage, new: func() command { return &totpCommand{} }},
}

// mainUsage is the command list printed by "authgw help".
func mainUsage() string {
	var b strings.Builder
	b.WriteString("authgw: an authentication gateway built on macaroons.\n\n")
	b.WriteString("Usage:\n  authgw <command> [arguments]\n\nCommands:\n")
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-*s %s\n", width, c.name, c.summary)
	}
	b.WriteString("\nRun \"authgw <command> --help\" (or \"authgw help <command>\") for a command's usage.\n")
	b.WriteString("Exit status: 0 success, 1 failure or denied, 2 usage error.\n")
	return b.String()
}

// usageError is a mistake in the command line or a missing setting: it
// exits with status 2.
type usageError struct {
	msg string
	// hint adds a pointer to the command's --help.
	hint bool
}

// Error returns the message, without the "authgw: " prefix.
func (e *usageError) Error() string { return e.msg }

// usagef returns a usage error that points to the command's --help.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), hint: true}
}

// errReported means the command already wrote its verdict (denied,
// invalid, problems found) and only the exit status remains: 1.
var errReported = errors.New("failure already reported")

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// run executes one authgw command line (without the program name) and
// returns the exit status: 0 on success, 1 on failure or denial, 2 on a
// usage error. Errors go to stderr as one line starting "authgw: ".
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env environment) int {
	c := &cli{environment: env.withDefaults(), stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage())
		return exitUsage
	}
	if isHelp(args[0]) {
		if len(args) == 1 {
			fmt.Fprint(stdout, mainUsage())
			return exitOK
		}
		topic := args[1:]
		if len(topic) == 1 && onlySubcommand[topic[0]] != "" {
			topic = []string{topic[0], onlySubcommand[topic[0]]}
		}
		if len(topic) == 1 && isGroup(topic[0]) {
			fmt.Fprint(stdout, groupUsage(topic[0]))
			return exitOK
		}
		spec, _, err := findCommand(topic)
		if err != nil {
			return c.report("help", err)
		}
		fmt.Fprint(stdout, spec.usage)
		return exitOK
	}
	spec, rest, err := findCommand(args)
	if err != nil {
		return c.report("", err)
	}
	return c.exec(spec, rest)
}

// onlySubcommand maps the commands that have subcommands to their only
// one.
var onlySubcommand = map[string]string{"policy": "check", "totp": "reseal", "keys": "rotate-info"}

// findCommand picks the command named at the start of args and returns
// it with the arguments that follow its name. "policy" alone, or followed
// by a help flag, means "policy check", its only subcommand; "totp"
// likewise "totp reseal" and "keys" "keys rotate-info". A group of
// commands ("users", "clients", "orgs") needs its subcommand; followed
// by a help flag alone it prints the group's commands.
func findCommand(args []string) (commandSpec, []string, error) {
	name, rest := args[0], args[1:]
	if isGroup(name) && onlySubcommand[name] == "" {
		switch {
		case len(rest) == 0:
			return commandSpec{}, nil, &usageError{msg: fmt.Sprintf(`%s: missing subcommand (run "authgw %s --help" for the list)`, name, name)}
		case isHelp(rest[0]):
			return commandSpec{name: name, usage: groupUsage(name), new: func() command { return groupHelp{} }}, rest[:1], nil
		}
		name, rest = name+" "+rest[0], rest[1:]
	}
	if sub := onlySubcommand[name]; sub != "" {
		switch {
		case len(rest) == 0 && name == "policy":
			return commandSpec{}, nil, &usageError{msg: `policy: missing subcommand (try "authgw policy check FILE...")`}
		case len(rest) == 0:
			return commandSpec{}, nil, &usageError{msg: fmt.Sprintf(`%s: missing subcommand (try "authgw %s %s --help")`, name, name, sub)}
		case isHelp(rest[0]):
			name, rest = name+" "+sub, rest[:1]
		default:
			name, rest = name+" "+rest[0], rest[1:]
		}
	}
	for _, spec := range commands {
		if spec.name == name {
			return spec, rest, nil
		}
	}
	return commandSpec{}, nil, &usageError{msg: fmt.Sprintf("unknown command %q (run \"authgw help\" for the list)", name)}
}

// exec parses the command's flags, runs it and reports the outcome.
func (c *cli) exec(spec commandSpec, args []string) int {
	cmd := spec.new()
	fs := cmd.flagSet()
	positional, err := parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(c.stdout, spec.usage)
		return exitOK
	case err != nil:
		// The flag package names flags with one dash; the usage texts
		// use two.
		err = usagef("%s", flagName.ReplaceAllString(err.Error(), "${1}--${2}"))
	default:
		err = cmd.run(c, positional)
	}
	return c.report(spec.name, err)
}

// report writes err as one line on stderr and returns the exit status.
func (c *cli) report(name string, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errReported) {
		return exitFailure
	}
	prefix := "authgw: "
	if name != "" {
		prefix += name + ": "
	}
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	if ue, ok := errors.AsType[*usageError](err); ok {
		if ue.hint && name != "" {
			msg += fmt.Sprintf(" (see authgw %s --help)", name)
		}
		fmt.Fprintln(c.stderr, prefix+msg)
		return exitUsage
	}
	fmt.Fprintln(c.stderr, prefix+msg)
	return exitFailure
}

// flagName finds the flag names in the flag package's errors, such as
// "flag needs an argument: -ttl" and "invalid value "x" for flag -ttl".
var flagName = regexp.MustCompile(`(: | flag )-([A-Za-z][A-Za-z0-9-]*)`)

// newFlagSet returns a FlagSet that reports errors instead of printing
// or exiting: exec prints the usage text itself.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments, and returns the positional ones in order. The
// flag package accepts "-flag" and "--flag" alike; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

// String returns the values separated by spaces.
func (l *stringList) String() string { return strings.Join(*l, " ") }

// Set appends one value.
func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// readTokenArg returns the token named by a positional argument: the
// argument itself, or standard input when it is "-". Surrounding white
// space is dropped. It fails when standard input cannot be read or holds
// nothing.
func (c *cli) readTokenArg(arg string) (string, error) {
	if arg != "-" {
		return strings.TrimSpace(arg), nil
	}
	// A token is at most 16 KiB; read a little more to report a long one.
	b, err := io.ReadAll(io.LimitReader(c.stdin, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read token from standard input: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("no token on standard input")
	}
	return tok, nil
}

// oneToken checks that exactly one positional argument, the token, was
// given and returns it (read from standard input for "-").
func (c *cli) oneToken(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", usagef("missing TOKEN (give the token, or - to read it from standard input)")
	case 1:
		return c.readTokenArg(args[0])
	}
	return "", usagef("want one TOKEN, got %d arguments", len(args))
}

// durationFlag is a duration flag that remembers whether it was given,
// so that an explicit zero can be refused.
type durationFlag struct {
	d   time.Duration
	set bool
}

// String returns the duration.
func (f *durationFlag) String() string { return f.d.String() }

// Set parses a time.ParseDuration value such as 5m or 1h30m.
func (f *durationFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want a duration such as 90s, 5m or 1h30m")
	}
	f.d, f.set = d, true
	return nil
}

// isGroup reports whether name is the first word of commands with
// several subcommands, such as "users" of "users list".
func isGroup(name string) bool {
	n := 0
	for _, c := range commands {
		if strings.HasPrefix(c.name, name+" ") {
			n++
		}
	}
	return n > 1
}

// groupUsage lists the commands of a group, as the command list does.
func groupUsage(group string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: authgw %s <command> [arguments]\n\nCommands:\n", group)
	width := 0
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			width = max(width, len(c.name))
		}
	}
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(&b, "  %-*s %s\n", width, c.name, c.summary)
		}
	}
	fmt.Fprintf(&b, "\nRun \"authgw %s <command> --help\" for a command's usage.\n", group)
	return b.String()
}

// groupHelp is the command a group's help flag finds: it has no flags,
// so exec prints the group's usage.
type groupHelp struct{}

func (groupHelp) flagSet() *flag.FlagSet { return newFlagSet("help") }

func (groupHelp) run(*cli, []string) error { return usagef("a group of commands: name one") }
