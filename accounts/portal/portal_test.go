package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/ui"
)

// TestStylesheet: a visitor without a session gets the pages' stylesheet.
func TestStylesheet(t *testing.T) {
	s := newStack(t, stackOptions{})
	r, err := ui.NewRenderer(ui.RendererConfig{})
	must(t, err)
	css := s.browser().get(r.StylesheetURL())
	if css.Status != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: status %d, type %q:\n%s", css.Status, css.Header.Get("Content-Type"), css.Body)
	}
}
