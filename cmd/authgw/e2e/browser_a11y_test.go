package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// TestBrowserAccessibility checks the pages as a keyboard and a screen
// reader meet them, in Chromium: every form control has an accessible
// name (its label), each page has one top-level heading, Tab walks the
// sign-in page in reading order from a "skip to content" link, an error
// is announced (an alert) and tied to its field (aria-invalid and a
// description holding the error's words), signing in works with the
// keyboard alone, and no page scrolls sideways on a phone.
func TestBrowserAccessibility(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	dir := t.TempDir()
	bootstrapFor(t, map[string]string{envDataDir: dir})
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--demo-listen", "off"},
		map[string]string{envDataDir: dir}, 20*time.Second)
	login := p.gatewayURL + "/accounts/v1/ui/login"
	b := newBrowserSession(t)

	b.open(login)
	expectAccessibleNames(t, b, "sign-in page")
	order := tabOrder(t, b, 4)
	want := []string{"a:Skip to main content", "input:email", "input:password", "button:Sign in"}
	for i := range want {
		if i >= len(order) || order[i] != want[i] {
			t.Fatalf("Tab order from the top of the sign-in page = %q, expected it to start %q", order, want)
		}
	}

	// Keyboard only: the focus is on Sign in; back to the address field.
	b.open(login)
	b.keysToNextPage("a wrong password with the keyboard", "\t\t"+clitest.LoginEmail+"\tnot the password\r")
	if got := get(b, "count alerts", chromedp.Evaluate[int](`document.querySelectorAll('[role=alert]').length`)); got != 1 {
		t.Errorf("a wrong password shows %d alerts, expected one error summary", got)
	}
	described := get(b, "the field with the error", chromedp.Evaluate[string](`(() => {
		const f = document.querySelector('[aria-invalid=true]');
		if (!f) return "";
		return (f.getAttribute('aria-describedby') || '').split(' ').map(id => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
	})()`))
	if described == "" {
		t.Errorf("after a wrong password no field is marked invalid with its error as its description")
	}
	expectAccessibleNames(t, b, "sign-in page with an error")

	b.open(login)
	b.keysToNextPage("signing in with the keyboard", "\t\t"+clitest.LoginEmail+"\t"+clitest.LoginPassword+"\r")
	if loc := b.location(); !strings.Contains(loc, "/accounts/v1/ui/settings") {
		t.Fatalf("signing in with the keyboard ended at %s, expected the account page:\n%s", loc, b.text())
	}
	expectAccessibleNames(t, b, "account page")

	b.phone(true)
	for _, page := range []string{login, p.gatewayURL + "/accounts/v1/ui/settings", p.gatewayURL + "/accounts/v1/ui/signup"} {
		b.open(page)
		if wide := get(b, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); wide {
			t.Errorf("%s scrolls sideways on a 375 px screen", page)
		}
	}
}

// expectAccessibleNames fails unless every text box, button and link of
// the page has an accessible name and the page has one level-1 heading.
func expectAccessibleNames(t *testing.T, b *browserSession, what string) {
	t.Helper()
	nodes := get(b, "the accessibility tree", func(ctx context.Context, tg *chromedp.Target) ([]*accessibility.Node, error) {
		r, err := cdp.Call(ctx, tg, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
		return r.Nodes, err
	})
	h1 := 0
	for _, n := range nodes {
		if n.Ignored || n.Role == nil {
			continue
		}
		role, name := axString(n.Role), axString(n.Name)
		switch role {
		case "textbox", "button", "link", "checkbox", "combobox":
			if strings.TrimSpace(name) == "" {
				t.Errorf("%s: a %s has no accessible name", what, role)
			}
		case "heading":
			for _, pr := range n.Properties {
				if pr.Name == "level" && pr.Value != nil && string(pr.Value.Value) == "1" {
					h1++
				}
			}
		}
	}
	if h1 != 1 {
		t.Errorf("%s: %d level-1 headings, expected 1", what, h1)
	}
}

// axString is the string of an accessibility value, "" for none.
func axString(v *accessibility.Value) string {
	if v == nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(v.Value, &s)
	return s
}

// tabOrder presses Tab n times from the top of the page and returns
// what had the focus each time: "tag:name" for a field, "tag:text" for
// a link or button.
func tabOrder(t *testing.T, b *browserSession, n int) []string {
	t.Helper()
	var order []string
	for range n {
		b.run("Tab", chromedp.KeyEvent("\t"))
		order = append(order, get(b, "the focused element", chromedp.Evaluate[string](`(() => {
			const e = document.activeElement;
			const tag = e.tagName.toLowerCase();
			return tag + ":" + (tag === "input" ? e.name : e.textContent.trim());
		})()`)))
	}
	return order
}

// keysToNextPage types keys (ending in one that sends a form) and waits
// until the next page has loaded.
func (b *browserSession) keysToNextPage(what, keys string) {
	b.t.Helper()
	b.run(what, chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.leaving = "1"`), chromedp.KeyEvent(keys))
	b.waitNewPage(what)
}
