// Package uitest starts the real browser the browser tests drive:
// Debian's Chromium, headless, over the DevTools protocol (chromedp), in
// a fresh profile, never downloaded. A test without Chromium is skipped,
// and fails when CI is set (the test suite installs it).
package uitest
