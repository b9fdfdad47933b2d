package caveat_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/policy"
)

func TestKinds(t *testing.T) {
	kinds := caveat.Kinds()
	if len(kinds) > caveat.MaxKinds {
		t.Fatalf("%d kinds, more than MaxKinds (%d)", len(kinds), caveat.MaxKinds)
	}
	var names []string
	for i, k := range kinds {
		names = append(names, k.Name())
		if got, ok := caveat.Lookup(k.Name()); k.Index() != i || !ok || got != k || k.String() != k.Name() {
			t.Errorf("kind %q: index %d at %d, Lookup %v, %v", k.Name(), k.Index(), i, got, ok)
		}
		if k.Syntax() == "" || k.Narrowing().String() == "unknown" || !caveat.ValidText(k.Name()+" x") {
			t.Errorf("kind %q is not fully described", k.Name())
		}
	}
	if got := strings.Join(names, " "); got != "server-id method routes except-routes orgs time-before amr auth-time user user-roles session client ip" {
		t.Errorf("Kinds = %s", got)
	}
	var mandatory []string
	for _, k := range kinds {
		if k.Mandatory() {
			mandatory = append(mandatory, k.Name())
		}
	}
	if got := strings.Join(mandatory, " "); got != "server-id method routes time-before user user-roles session" {
		t.Errorf("mandatory kinds = %s", got)
	}
	var checked []string
	for _, k := range kinds {
		if k.Constrains() != caveat.None {
			checked = append(checked, k.Name())
		}
	}
	if got := strings.Join(checked, " "); got != "server-id method routes except-routes time-before client ip" {
		t.Errorf("kinds checked per request = %s", got)
	}
	var mintedOnly []string
	for _, k := range kinds {
		if k.MintedOnly() {
			mintedOnly = append(mintedOnly, k.Name())
			// The verifier tells a minted one by its coming before the
			// first user caveat: the mint must write it there.
			if k.Index() >= caveat.User.Index() || k.Mandatory() {
				t.Errorf("kind %q is minted only but not minted before user, or is mandatory", k.Name())
			}
		}
	}
	if got := strings.Join(mintedOnly, " "); got != "amr auth-time" {
		t.Errorf("minted-only kinds = %s", got)
	}
	for _, name := range []string{"color", ""} {
		if k, ok := caveat.Lookup(name); ok || k != 0 {
			t.Errorf("Lookup(%q) finds kind %v", name, k)
		}
	}
}

// TestNoKind: the zero Kind, and a value that is no kind, have no rules
// and build no caveat; none of their methods panics.
func TestNoKind(t *testing.T) {
	for _, k := range []caveat.Kind{0, caveat.Kind(len(caveat.Kinds()) + 1), caveat.MaxKinds, 255} {
		if k.Name() != "" || k.Syntax() != "" || k.Mandatory() || k.Repeatable() || k.Narrowing() != 0 || k.Constrains() != caveat.None ||
			k.Index() != -1 || !strings.HasPrefix(k.String(), "Kind(") {
			t.Errorf("kind %d has rules: %q %q %v %v %v %v %d %q", uint8(k), k.Name(), k.Syntax(), k.Mandatory(), k.Repeatable(),
				k.Narrowing(), k.Constrains(), k.Index(), k)
		}
		if _, err := caveat.New(k, "x"); !errors.Is(err, caveat.ErrUnknown) {
			t.Errorf("New(kind %d) error = %v, want ErrUnknown", uint8(k), err)
		}
	}
	if (caveat.Caveat{}).Kind() != 0 || (caveat.Caveat{}).String() != "" {
		t.Error("the zero Caveat has a kind")
	}
}

// TestGrammarCannotBeChanged documents why the grammar is constants and
// methods, not variables: no caller, however linked into the process,
// can make a kind optional, rename it or widen what it accepts. The
// lists a caller gets are copies, and changing them changes nothing.
func TestGrammarCannotBeChanged(t *testing.T) {
	kinds := caveat.Kinds()
	for i := range kinds {
		kinds[i] = caveat.IP // neither mandatory nor constraining the method
	}
	methods := caveat.Methods()
	methods[0] = "TRACE"
	if got := caveat.Kinds(); got[0] != caveat.ServerID || got[1] != caveat.Method || !caveat.Method.Mandatory() {
		t.Errorf("Kinds after changing a copy = %v", got)
	}
	if got := caveat.Methods(); got[0] != "GET" {
		t.Errorf("Methods after changing a copy = %q", got)
	}
	if _, err := caveat.Parse("method TRACE"); !errors.Is(err, caveat.ErrBadArgument) {
		t.Errorf("Parse(method TRACE) after changing a copy of Methods: error %v, want ErrBadArgument", err)
	}
	if c, err := caveat.Parse("method GET"); err != nil || c.Kind() != caveat.Method || c.Kind().Constrains() != caveat.HTTPMethod {
		t.Errorf("Parse(method GET) after changing copies = %v of kind %v, %v", c, c.Kind(), err)
	}

	// The package has no exported variable but its error values: every
	// rule is behind a constant and a method.
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("the package's files: %v, %v", files, err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, name := range spec.(*ast.ValueSpec).Names {
					if name.IsExported() && !strings.HasPrefix(name.Name, "Err") {
						t.Errorf("%s: exported variable %s: a caller could change the grammar", fset.Position(name.Pos()), name.Name)
					}
				}
			}
		}
	}
}

// TestParse covers the shape (ValidText: "name argument" in printable
// UTF-8), the names and every kind's argument syntax.
func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		given     string
		expectErr error
		expect    caveat.Kind
	}{
		{name: "server-id", given: "server-id test", expect: caveat.ServerID},
		{name: "method", given: "method PATCH", expect: caveat.Method},
		{name: "method in lower case", given: "method get", expectErr: caveat.ErrBadArgument},
		{name: "HEAD is no method of a token", given: "method HEAD", expectErr: caveat.ErrBadArgument},
		{name: "routes", given: "routes /a/** /b/:orgIdRead", expect: caveat.Routes},
		{name: "routes without a slash", given: "routes a/**", expectErr: caveat.ErrBadArgument},
		{name: "routes with a doubled space", given: "routes /a  /b", expectErr: caveat.ErrBadArgument},
		{name: "routes with a user parameter", given: "routes /u/:userId", expectErr: caveat.ErrBadArgument},
		{name: "orgs", given: "orgs org-a:re org-b", expect: caveat.Orgs},
		{name: "orgs twice the same", given: "orgs org-a org-a", expectErr: caveat.ErrBadArgument},
		{name: "time-before", given: "time-before 2026-11-22T12:00:00Z", expect: caveat.TimeBefore},
		{name: "time-before with an offset", given: "time-before 2026-11-22T12:00:00+01:00", expectErr: caveat.ErrBadArgument},
		{name: "user", given: "user 42", expect: caveat.User},
		{name: "user-roles", given: "user-roles admin staff", expect: caveat.UserRoles},
		{name: "no roles", given: "user-roles -", expect: caveat.UserRoles},
		{name: "no roles beside a role", given: "user-roles admin -", expectErr: caveat.ErrBadArgument},
		{name: "session", given: "session s1", expect: caveat.Session},
		{name: "client", given: "client c1", expect: caveat.Client},
		{name: "amr", given: "amr pwd otp mfa", expect: caveat.AMR},
		{name: "amr of one value", given: "amr hwk", expect: caveat.AMR},
		{name: "amr twice the same value", given: "amr pwd otp pwd", expectErr: caveat.ErrBadArgument},
		{name: "amr in upper case", given: "amr PWD", expectErr: caveat.ErrBadArgument},
		{name: "amr with a doubled space", given: "amr pwd  otp", expectErr: caveat.ErrBadArgument},
		{name: "amr with a trailing space", given: "amr pwd ", expectErr: caveat.ErrBadArgument},
		{name: "amr value too long", given: "amr abcdefghijklmnopq", expectErr: caveat.ErrBadArgument},
		{name: "amr of too many values", given: "amr a b c d e f g h i", expectErr: caveat.ErrBadArgument},
		{name: "amr of the most values", given: "amr a b c d e f g h", expect: caveat.AMR},
		{name: "auth-time", given: "auth-time 2026-11-22T12:00:00Z", expect: caveat.AuthTime},
		{name: "auth-time with an offset", given: "auth-time 2026-11-22T12:00:00+01:00", expectErr: caveat.ErrBadArgument},
		{name: "auth-time not a time", given: "auth-time yesterday", expectErr: caveat.ErrBadArgument},
		{name: "ip", given: "ip 10.0.0.0/8 192.0.2.7 ::ffff:10.0.0.0/104", expect: caveat.IP},
		{name: "ip with host bits", given: "ip 10.0.0.1/8", expectErr: caveat.ErrBadArgument},
		{name: "ip with a trailing space", given: "ip 10.0.0.0/8 ", expectErr: caveat.ErrBadArgument},
		{name: "unknown", given: "color blue", expectErr: caveat.ErrUnknown},
		{name: "UTF-8 argument", given: "user jürgen", expect: caveat.User},
		{name: "argument with inner spaces", given: "ip 10.0.0.0/8 127.0.0.1", expect: caveat.IP},
		{name: "routes with two routes", given: "routes /a/** /b", expect: caveat.Routes},
		{name: "name only", given: "routes", expectErr: caveat.ErrBadText},
		{name: "empty", given: "", expectErr: caveat.ErrBadText},
		{name: "name and space", given: "routes ", expectErr: caveat.ErrBadText},
		{name: "no name", given: " /a", expectErr: caveat.ErrBadText},
		{name: "upper-case name", given: "Routes /a", expectErr: caveat.ErrBadText},
		{name: "digit in name", given: "ip4 1.2.3.4", expectErr: caveat.ErrBadText},
		{name: "underscore in name", given: "time_before x", expectErr: caveat.ErrBadText},
		{name: "tab separator", given: "routes\t/a", expectErr: caveat.ErrBadText},
		{name: "tab in argument", given: "routes /a\t/b", expectErr: caveat.ErrBadText},
		{name: "newline in argument", given: "routes /a\n", expectErr: caveat.ErrBadText},
		{name: "carriage return", given: "routes /a\r", expectErr: caveat.ErrBadText},
		{name: "NUL", given: "routes /a\x00", expectErr: caveat.ErrBadText},
		{name: "DEL", given: "routes /a\x7f", expectErr: caveat.ErrBadText},
		{name: "C1 control", given: "routes /a\u0085", expectErr: caveat.ErrBadText},
		{name: "invalid UTF-8", given: "routes /a\xc3", expectErr: caveat.ErrBadText},
		{name: "replacement character", given: "routes /a\ufffd", expectErr: caveat.ErrBadText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if valid := caveat.ValidText(tt.given); valid == errors.Is(tt.expectErr, caveat.ErrBadText) {
				t.Errorf("ValidText(%q) = %v", tt.given, valid)
			}
			c, err := caveat.Parse(tt.given)
			if !errors.Is(err, tt.expectErr) || (err != nil && !errors.Is(err, caveat.ErrBadCaveat)) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.given, err, tt.expectErr)
			}
			if err != nil {
				if caveat.Explain(tt.given) == "" {
					t.Errorf("Explain(%q) is empty", tt.given)
				}
				return
			}
			if c.Kind() != tt.expect || c.String() != tt.given || caveat.Explain(tt.given) != "" {
				t.Errorf("Parse(%q) = %v of kind %v", tt.given, c, c.Kind())
			}
		})
	}
}

func TestTypedValues(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 900_000_000, time.FixedZone("x", 3600))
	tb := caveat.NewTimeBefore(at)
	if tb.String() != "time-before 2026-11-22T11:00:00Z" || !tb.Time().Equal(at.Truncate(time.Second)) {
		t.Errorf("NewTimeBefore = %q, %v", tb, tb.Time())
	}
	routes, err := policy.ParseRoutes("/a/** /o/:orgId")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := caveat.NewRoutes(routes)
	if err != nil || rc.String() != "routes /a/** /o/:orgId" || !rc.Routes().Match("/a/b") {
		t.Errorf("NewRoutes = %q, %v", rc, err)
	}
	if _, err := caveat.NewRoutes(policy.Routes{}); !errors.Is(err, caveat.ErrBadArgument) {
		t.Errorf("NewRoutes of no route: error %v", err)
	}
	ip, err := caveat.NewIP(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"))
	if err != nil || ip.String() != "ip 10.0.0.0/8 192.0.2.7" {
		t.Errorf("NewIP = %q, %v", ip, err)
	}
	if !ip.AllowsIP(netip.MustParseAddr("::ffff:10.1.2.3")) || ip.AllowsIP(netip.MustParseAddr("11.0.0.1")) || ip.AllowsIP(netip.Addr{}) {
		t.Error("AllowsIP does not follow the ranges")
	}
	if _, err := caveat.NewIP(netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 8)); err == nil {
		t.Error("NewIP accepts host bits")
	}
	if _, err := caveat.NewIP(); err == nil {
		t.Error("NewIP accepts no range")
	}
	if _, err := caveat.New(caveat.Method, "HEAD"); err == nil || !strings.Contains(err.Error(), caveat.Method.Syntax()) {
		t.Errorf("New(method HEAD) error = %v, want one naming the syntax", err)
	}
	at2 := caveat.NewAuthTime(at)
	if at2.String() != "auth-time 2026-11-22T11:00:00Z" || !at2.Time().Equal(at.Truncate(time.Second)) || at2.Kind().Constrains() != caveat.None {
		t.Errorf("NewAuthTime = %q, %v", at2, at2.Time())
	}
	if got := caveat.RolesArgument(nil); got != caveat.NoRoles {
		t.Errorf("RolesArgument(nil) = %q", got)
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	texts := []string{"routes /a/** /o/:orgIdRead/x", "time-before 2026-11-22T12:00:00Z", "ip 10.0.0.0/8 2001:db8::/32",
		"user-roles a b", "orgs org-a:re", "method GET", "amr pwd otp mfa", "auth-time 2026-11-22T12:00:00Z"}
	for _, text := range texts {
		if n := testing.AllocsPerRun(50, func() { _, _ = caveat.Parse(text) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times", text, n)
		}
	}
}
