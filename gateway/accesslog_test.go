package gateway_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/gatewaytest"
)

// TestAccessLog: the access line names the user a token identified (its
// ID, never an address) and the client a Basic credential named, even
// when its secret was wrong (the ID is no secret; the secret never
// appears); an unknown client ID, which may be anything the caller typed,
// is not logged. At debug level each refusal's code and detail is
// logged; at info level it is not.
func TestAccessLog(t *testing.T) {
	tests := []struct {
		name           string
		givenLevel     slog.Level
		whenAuth       func(id, tok string) string
		expectStatus   int
		expectInLog    []string
		expectNotInLog []string
	}{
		{
			name:           "given a granted token, expect the user ID in the access line",
			givenLevel:     slog.LevelInfo,
			whenAuth:       func(id, tok string) string { return authz(id, "s3cret", tok) },
			expectStatus:   200,
			expectInLog:    []string{"user=user-1", "client={client}"},
			expectNotInLog: []string{"ann@example.com", "s3cret", "gateway: refused"},
		},
		{
			name:           "given a wrong secret at info level, expect the client ID and no reason",
			givenLevel:     slog.LevelInfo,
			whenAuth:       func(id, tok string) string { return authz(id, "wrong-secret", tok) },
			expectStatus:   401,
			expectInLog:    []string{"status=401", "client={client}", `user=""`},
			expectNotInLog: []string{"wrong-secret", "gateway: refused", "INVALID-CLIENT-SECRET"},
		},
		{
			name:           "given a wrong secret at debug level, expect the refusal's code and detail",
			givenLevel:     slog.LevelDebug,
			whenAuth:       func(id, tok string) string { return authz(id, "wrong-secret", tok) },
			expectStatus:   401,
			expectInLog:    []string{`msg="gateway: refused"`, "code=INVALID-CLIENT-SECRET", `detail="The client secret is wrong."`, "client={client}"},
			expectNotInLog: []string{"wrong-secret"},
		},
		{
			name:           "given an unknown client ID, expect it not logged",
			givenLevel:     slog.LevelDebug,
			whenAuth:       func(id, tok string) string { return authz("pasted-secret-by-mistake", "", tok) },
			expectStatus:   401,
			expectInLog:    []string{"code=UNKNOWN-CLIENT", `client=""`},
			expectNotInLog: []string{"pasted-secret-by-mistake"},
		},
		{
			name:           "given a bad token at debug level, expect the verifier's reason",
			givenLevel:     slog.LevelDebug,
			whenAuth:       func(id, tok string) string { return authz(id, "s3cret", "not-a-token") },
			expectStatus:   401,
			expectInLog:    []string{`msg="gateway: token refused"`, `msg="gateway: refused"`, "code=TOKEN-INVALID"},
			expectNotInLog: []string{"not-a-token"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs gatewaytest.LogBuffer
			e, id, tok := proxyEnv(t, func(c *gateway.Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: tt.givenLevel}))
			})
			res, body := e.send("GET", "/demo/v1/items", header("Authorization", tt.whenAuth(id, tok["GET"])), nil)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.expectStatus, body)
			}
			text := logs.String()
			for _, want := range tt.expectInLog {
				if want = strings.ReplaceAll(want, "{client}", id); !strings.Contains(text, want) {
					t.Errorf("log lacks %q:\n%s", want, text)
				}
			}
			for _, unwanted := range tt.expectNotInLog {
				if strings.Contains(text, unwanted) {
					t.Errorf("log holds %q:\n%s", unwanted, text)
				}
			}
		})
	}
}
