package passkey_test

import (
	"errors"
	"testing"

	"github.com/authgw/authgw/accounts/passkey"
)

// TestNew checks the relying party's settings: a host name, and origins
// on it.
func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     passkey.Config
		wantErr bool
	}{
		{"localhost", passkey.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}}, false},
		{"subdomain origin", passkey.Config{RPID: "example.com", Origins: []string{"https://auth.example.com"}}, false},
		{"no RP ID", passkey.Config{Origins: []string{"https://example.com"}}, true},
		{"RP ID with a port", passkey.Config{RPID: "example.com:443", Origins: []string{"https://example.com"}}, true},
		{"no origin", passkey.Config{RPID: "example.com"}, true},
		{"origin elsewhere", passkey.Config{RPID: "example.com", Origins: []string{"https://evil.com"}}, true},
		{"origin suffix trick", passkey.Config{RPID: "example.com", Origins: []string{"https://badexample.com"}}, true},
		{"origin with a path", passkey.Config{RPID: "example.com", Origins: []string{"https://example.com/x"}}, true},
		{"origin not http", passkey.Config{RPID: "example.com", Origins: []string{"ftp://example.com"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := passkey.New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%+v) = %v, want error %v", tt.cfg, err, tt.wantErr)
			}
		})
	}
}

// TestFinish_garbage checks that malformed answers and session data are
// ErrInvalid, never a panic.
func TestFinish_garbage(t *testing.T) {
	p, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{"http://localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	u := passkey.User{ID: "u1", Name: "ann@example.com", DisplayName: "Ann"}
	_, session, err := p.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"", "{}", "null", `{"id":"AAAA","type":"public-key","response":{}}`, `{"response":{"attestationObject":"!!!"}}`} {
		if _, err := p.FinishRegistration(u, session, []byte(body)); !errors.Is(err, passkey.ErrInvalid) {
			t.Errorf("registration %q: %v, want ErrInvalid", body, err)
		}
		if _, err := p.FinishLogin(session, []byte(body), func([]byte) (passkey.User, error) { return u, nil }); !errors.Is(err, passkey.ErrInvalid) {
			t.Errorf("login %q: %v, want ErrInvalid", body, err)
		}
	}
	if _, err := p.FinishRegistration(u, []byte("not json"), []byte("{}")); !errors.Is(err, passkey.ErrInvalid) {
		t.Errorf("bad session: %v", err)
	}
}
