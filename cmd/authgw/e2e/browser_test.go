package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/authgw/authgw/accounts/ui/uitest"
)

// The browser tests drive Debian's Chromium, headless, through the
// DevTools protocol (chromedp): a real browser with its own cookie rules,
// CSP enforcement and form handling, never downloaded by the tests.

// updateScreenshots makes the browser tests write the screenshots the
// README shows into testdata/screenshots (go test ./cmd/authgw/e2e -run
// Browser -update-screenshots); otherwise they go to a temporary
// directory, or AUTHGW_SCREENSHOTS when set.
var updateScreenshots = flag.Bool("update-screenshots", false, "write the README's screenshots to testdata/screenshots")

// screenshotsDir is where the README's screenshots live.
const screenshotsDir = "../../../testdata/screenshots"

// browserSession is one headless Chromium with one tab.
type browserSession struct {
	t      *testing.T
	ctx    context.Context
	shots  string // the screenshots' directory
	number int    // screenshots taken, for their order
}

// newBrowserSession starts Chromium with the flags a headless test needs
// (no sandbox: the tests may run as root; nothing fetched in the
// background) in a fresh profile, and closes it when the test ends.
func newBrowserSession(t *testing.T) *browserSession {
	t.Helper()
	ctx := uitest.Chromium(t, chromedp.WindowSize(1024, 768))
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancelTimeout)
	b := &browserSession{t: t, ctx: ctx, shots: t.TempDir()}
	switch {
	case *updateScreenshots:
		b.shots = screenshotsDir
	case os.Getenv("AUTHGW_SCREENSHOTS") != "":
		b.shots = os.Getenv("AUTHGW_SCREENSHOTS")
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs chromedp actions, failing the test on error.
func (b *browserSession) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.location())
	}
}

// get runs one chromedp action that returns a value, failing the test
// on error.
func get[T any](b *browserSession, what string, action chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, action)
	if err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.location())
	}
	return v
}

// location returns the tab's URL, "" when it cannot be read.
func (b *browserSession) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

// open navigates to url and waits for the page to load.
func (b *browserSession) open(url string) {
	b.t.Helper()
	b.run("open "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}

// text returns the page's visible text.
func (b *browserSession) text() string {
	b.t.Helper()
	s := get(b, "read the page", chromedp.Text(chromedp.CSS("body")))
	return strings.Join(strings.Fields(s), " ")
}

// html returns the page's markup.
func (b *browserSession) html() string {
	b.t.Helper()
	return get(b, "read the markup", chromedp.OuterHTML(chromedp.CSS("html")))
}

// submit fills the form whose action is action (a path) with fields, by
// typing into them as a person would, presses its submit button, and
// waits until the next page has loaded.
func (b *browserSession) submit(action string, fields map[string]string) {
	b.t.Helper()
	form := fmt.Sprintf(`form[action=%q]`, action)
	actions := []chromedp.Action[chromedp.Void]{chromedp.WaitReady(chromedp.CSS(form))}
	for name, value := range fields {
		sel := chromedp.CSS(fmt.Sprintf(`%s [name=%q]`, form, name))
		actions = append(actions, chromedp.Clear(sel), chromedp.SendKeys(sel, value))
	}
	// Mark the current document: the next page is loaded when the mark
	// is gone and the new document is complete.
	actions = append(actions,
		chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.leaving = "1"`),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`), chromedp.NodeVisible))
	b.run("submit "+action, actions...)
	b.waitNewPage("after submitting " + action)
}

// waitNewPage waits until the marked document has been replaced and the
// new one has loaded.
func (b *browserSession) waitNewPage(what string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		loaded, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !document.documentElement.dataset.leaving`))
		if err == nil && loaded {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("%s: the next page did not load (at %s)", what, b.location())
}

// screenshot saves the whole page as NN-name.png in the screenshots'
// directory.
func (b *browserSession) screenshot(name string) string {
	b.t.Helper()
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	b.number++
	path := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.number, name))
	if *updateScreenshots {
		path = filepath.Join(b.shots, name+".png")
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// phone makes the tab a phone-sized screen (375×667, touch, 2× pixels),
// or the desktop size (1024×768) when off.
func (b *browserSession) phone(on bool) {
	b.t.Helper()
	if on {
		b.run("phone screen", chromedp.EmulateViewport(375, 667, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch,
			chromedp.EmulateOrientation(emulation.ScreenOrientationTypePortraitPrimary, 0)))
		return
	}
	b.run("desktop screen", chromedp.EmulateViewport(1024, 768))
}
