package ui_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/ui"
)

// TestReviewFormTargets: a form's 303 to a return_to on another allowed
// origin is followed by a browser only when form-action names that
// origin; nothing but a plain origin may reach the header.
func TestReviewFormTargets(t *testing.T) {
	r, err := ui.NewRenderer(ui.RendererConfig{FormTargets: []string{"https://app.example.com", "http://127.0.0.1:8080"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "form-action 'self' https://app.example.com http://127.0.0.1:8080"; !strings.Contains(r.CSP(), want) {
		t.Errorf("CSP %q lacks %q", r.CSP(), want)
	}
	plain, err := ui.NewRenderer(ui.RendererConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.CSP() != ui.ContentSecurityPolicy {
		t.Errorf("without form targets the CSP is %q", plain.CSP())
	}
	for _, bad := range []string{"https://a.example; script-src *", "https://a.example/path", "*", "'unsafe-inline'", "javascript:x", "https://a.example 'unsafe-eval'", ""} {
		if _, err := ui.NewRenderer(ui.RendererConfig{FormTargets: []string{bad}}); !errors.Is(err, ui.ErrTemplate) {
			t.Errorf("form target %q: %v, want ErrTemplate", bad, err)
		}
	}
}
