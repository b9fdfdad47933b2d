package ui_test

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/authgw/authgw/accounts/ui"
)

func newRenderer(t *testing.T, cfg ui.RendererConfig) *ui.Renderer {
	t.Helper()
	r, err := ui.NewRenderer(cfg)
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return r
}

// render renders page and fails the test on an error.
func render(t *testing.T, r *ui.Renderer, status int, page string, data any) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	if err := r.Render(w, status, page, data); err != nil {
		t.Fatalf("Render(%q): %v", page, err)
	}
	return w
}

// checkPageSafety checks what every page must be: the safety headers,
// a lang attribute, the stylesheet, and nothing inline that the CSP
// would need 'unsafe-inline' for.
func checkPageSafety(t *testing.T, r *ui.Renderer, w *httptest.ResponseRecorder) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"Referrer-Policy":         "same-origin",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
		"Content-Type":            "text/html; charset=utf-8",
	} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("%s: %q, expected %q", name, got, want)
		}
	}
	body := w.Body.String()
	if !regexp.MustCompile(`<html lang="[a-zA-Z-]+">`).MatchString(body) {
		t.Errorf("no lang attribute on <html>")
	}
	if !strings.Contains(body, `<link rel="stylesheet" href="`+r.StylesheetURL()+`">`) {
		t.Errorf("no link to the stylesheet %s", r.StylesheetURL())
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)javascript:`),
		regexp.MustCompile(`\[missing: `),
	} {
		if loc := bad.FindStringIndex(body); loc != nil {
			t.Errorf("page contains %q (%s)", body[loc[0]:loc[1]], bad)
		}
	}
	if !regexp.MustCompile(`<title>[^<]*\S[^<]*</title>`).MatchString(body) {
		t.Errorf("empty <title>")
	}
}

func TestRenderErrorPages(t *testing.T) {
	r := newRenderer(t, ui.RendererConfig{})
	for _, kind := range ui.ErrorKinds {
		t.Run(string(kind), func(t *testing.T) {
			p := ui.ErrorPage{Kind: kind, Duration: 20 * time.Minute, ContinueURL: "/accounts/v1/ui/login"}
			w := render(t, r, p.Status(), "error", p)
			checkPageSafety(t, r, w)
			if w.Code != p.Status() || w.Code < 400 {
				t.Errorf("status %d, expected %d", w.Code, p.Status())
			}
			body := w.Body.String()
			if !strings.Contains(body, `<h1 class="heading">`) || !strings.Contains(body, "What you can do") {
				t.Errorf("the page does not say what happened and what to do:\n%s", body)
			}
			if !strings.Contains(body, `href="/accounts/v1/ui/login"`) {
				t.Errorf("no continue link")
			}
		})
	}
}

func TestRenderErrorPageSaysDurationsInWords(t *testing.T) {
	r := newRenderer(t, ui.RendererConfig{})
	body := render(t, r, 410, "error", ui.ErrorPage{Kind: ui.ErrorExpiredLink, Duration: 20 * time.Minute}).Body.String()
	if !strings.Contains(body, "only for 20 minutes,") || strings.Contains(body, "20m0s") {
		t.Errorf("the lifetime is not in words:\n%s", body)
	}
	body = render(t, r, 429, "error", ui.ErrorPage{Kind: ui.ErrorTooMany, Duration: time.Hour}).Body.String()
	if !strings.Contains(body, "Wait 1 hour and try again.") {
		t.Errorf("the wait is not in words:\n%s", body)
	}
}

func TestRenderEscapesData(t *testing.T) {
	r := newRenderer(t, ui.RendererConfig{Branding: ui.Branding{ProductName: `Acme <script>alert(1)</script>`}})
	w := render(t, r, 404, "error", ui.ErrorPage{Kind: ui.ErrorNotFound, ContinueURL: "javascript:alert(1)"})
	body := w.Body.String()
	if strings.Contains(body, "<script>alert") {
		t.Errorf("the product name reached the page as markup")
	}
	if !strings.Contains(body, "Acme &lt;script&gt;") {
		t.Errorf("the product name is not shown escaped")
	}
	if strings.Contains(body, `href="javascript:`) {
		t.Errorf("a javascript: URL reached an href")
	}
}

func TestRenderUnknownPage(t *testing.T) {
	r := newRenderer(t, ui.RendererConfig{})
	w := httptest.NewRecorder()
	if err := r.Render(w, 200, "nope", nil); !errors.Is(err, ui.ErrUnknownPage) {
		t.Fatalf("Render = %v, expected ErrUnknownPage", err)
	}
	if w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Errorf("a failed render wrote something")
	}
	if got := r.Pages(); !slices.Contains(got, "error") {
		t.Errorf("Pages() = %q, expected the error page among them", got)
	}
}

// formRenderer is a renderer with the test page testdata/form.html
// besides the embedded templates: the form partial ships before any page
// that uses it.
func formRenderer(t *testing.T) *ui.Renderer {
	t.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(ui.EmbeddedTemplates, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(ui.EmbeddedTemplates, p)
		files[filepath.Base(p)] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/form.html")
	if err != nil {
		t.Fatal(err)
	}
	files["form.html"] = &fstest.MapFile{Data: b}
	r, err := ui.NewRendererFS(ui.RendererConfig{}, files)
	if err != nil {
		t.Fatalf("NewRendererFS: %v", err)
	}
	return r
}

type formPage struct {
	Heading ui.Msg
	Form    ui.Form
}

func TestRenderFormAccessibility(t *testing.T) {
	r := formRenderer(t)
	page := formPage{
		Heading: ui.M("error.bad_request.heading"),
		Form: ui.Form{
			Action:    "/accounts/v1/ui/login",
			CSRFToken: "tok-123",
			Fields: []ui.Field{
				{Name: "email", Type: "email", Label: ui.M("form.submit"), Hint: ui.M("error.not_found.todo"), Error: ui.M("error.bad_request.happened"), Value: `a"b@example.com`, Autocomplete: "email"},
				{Name: "password", Type: "password", Label: ui.M("form.error_prefix")},
			},
		},
	}
	w := render(t, r, 422, "form", page)
	checkPageSafety(t, r, w)
	body := w.Body.String()

	inputs := regexp.MustCompile(`<input [^>]*>`).FindAllString(body, -1)
	attr := func(tag, name string) string {
		m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return ""
		}
		return m[1]
	}
	var visible int
	for _, in := range inputs {
		if attr(in, "type") == "hidden" {
			if attr(in, "name") != ui.CSRFField || attr(in, "value") != "tok-123" {
				t.Errorf("hidden input %s is not the CSRF field", in)
			}
			continue
		}
		visible++
		id := attr(in, "id")
		if id == "" || !strings.Contains(body, `<label class="label" for="`+id+`">`) {
			t.Errorf("input %s has no label tied to it", in)
		}
		for _, ref := range strings.Fields(attr(in, "aria-describedby")) {
			if !strings.Contains(body, `id="`+ref+`"`) {
				t.Errorf("input %s is described by %q, which is not on the page", in, ref)
			}
		}
	}
	if visible != 2 {
		t.Fatalf("%d visible inputs, expected 2:\n%s", visible, body)
	}
	email := inputs[1]
	if attr(email, "aria-describedby") != "field-email-hint field-email-error" || attr(email, "aria-invalid") != "true" {
		t.Errorf("the email field's hint and error are not tied to it: %s", email)
	}
	if attr(email, "value") != "a&#34;b@example.com" || attr(email, "autocomplete") != "email" || attr(email, "type") != "email" {
		t.Errorf("email input %s: value not escaped, or type or autocomplete lost", email)
	}
	password := inputs[2]
	if attr(password, "aria-describedby") != "" || attr(password, "aria-invalid") != "" {
		t.Errorf("a field without hint or error has aria attributes: %s", password)
	}
	if !strings.Contains(body, `<li><a href="#field-email">`) || !strings.Contains(body, `role="alert"`) {
		t.Errorf("no error summary linking to the field with an error")
	}
	if !strings.Contains(body, `<span class="visually-hidden">Error:</span>`) {
		t.Errorf("the field's error is not announced as an error in words")
	}
	if strings.Index(body, "error-summary") > strings.Index(body, "<form") {
		t.Errorf("the error summary comes after the form")
	}
}

func TestRenderFormWithoutErrorsHasNoSummary(t *testing.T) {
	r := formRenderer(t)
	body := render(t, r, 200, "form", formPage{
		Heading: ui.M("error.bad_request.heading"),
		Form:    ui.Form{Action: "/x", Fields: []ui.Field{{Name: "email", Label: ui.M("form.submit")}}},
	}).Body.String()
	if strings.Contains(body, "error-summary") || strings.Contains(body, "aria-invalid") {
		t.Errorf("a form without errors shows an error summary")
	}
}

func TestRenderMissingMessageWritesNothing(t *testing.T) {
	r := formRenderer(t)
	w := httptest.NewRecorder()
	err := r.Render(w, 200, "form", formPage{Heading: ui.M("no.such.key")})
	if err == nil || !strings.Contains(err.Error(), `"no.such.key"`) {
		t.Fatalf("Render = %v, expected an error naming the key", err)
	}
	if w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Errorf("a failed render wrote something")
	}
}

func TestBranding(t *testing.T) {
	plain := newRenderer(t, ui.RendererConfig{})
	r := newRenderer(t, ui.RendererConfig{Branding: ui.Branding{ProductName: "Acme", AccentColour: "#AbC", LogoURL: "/static/logo.png"}})
	body := render(t, r, 404, "error", ui.ErrorPage{Kind: ui.ErrorNotFound}).Body.String()
	if !strings.Contains(body, `<img class="logo" src="/static/logo.png" alt="Acme logo">`) || !strings.Contains(body, "– Acme</title>") {
		t.Errorf("branding not shown:\n%s", body)
	}
	if r.StylesheetURL() == plain.StylesheetURL() {
		t.Errorf("the branded stylesheet has the unbranded one's name, so caches would serve the wrong colour")
	}
	w := httptest.NewRecorder()
	r.ServeAsset(w, httptest.NewRequest(http.MethodGet, r.StylesheetURL(), nil))
	if !strings.Contains(w.Body.String(), "--accent: #abc;") {
		t.Errorf("the stylesheet does not carry the accent colour")
	}
	if r.CSP() != ui.ContentSecurityPolicy {
		t.Errorf("a logo on the gateway changed the CSP to %q", r.CSP())
	}

	cdn := newRenderer(t, ui.RendererConfig{Branding: ui.Branding{LogoURL: "https://CDN.example:8443/acme/logo.svg"}})
	if want := ui.ContentSecurityPolicy + "; img-src 'self' https://cdn.example:8443"; cdn.CSP() != want {
		t.Errorf("CSP %q, expected %q", cdn.CSP(), want)
	}
	w = render(t, cdn, 404, "error", ui.ErrorPage{Kind: ui.ErrorNotFound})
	if got := w.Header().Get("Content-Security-Policy"); got != cdn.CSP() {
		t.Errorf("page CSP %q, expected %q", got, cdn.CSP())
	}
}

func TestBrandingRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given ui.Branding
	}{
		{"colour breaking out of the declaration", ui.Branding{AccentColour: "#fff;}body{background:url(//evil)"}},
		{"colour name", ui.Branding{AccentColour: "red"}},
		{"colour function", ui.Branding{AccentColour: "rgb(1,2,3)"}},
		{"five digits", ui.Branding{AccentColour: "#12345"}},
		{"eight digits", ui.Branding{AccentColour: "#11223344"}},
		{"not hex", ui.Branding{AccentColour: "#ggg"}},
		{"no hash", ui.Branding{AccentColour: "123456"}},
		{"colour with newline", ui.Branding{AccentColour: "#fff\n"}},
		{"logo javascript", ui.Branding{LogoURL: "javascript:alert(1)"}},
		{"logo data", ui.Branding{LogoURL: "data:image/svg+xml,<svg/>"}},
		{"logo http", ui.Branding{LogoURL: "http://cdn.example/logo.png"}},
		{"logo scheme-relative", ui.Branding{LogoURL: "//cdn.example/logo.png"}},
		{"logo with userinfo", ui.Branding{LogoURL: "https://u@cdn.example/logo.png"}},
		{"logo with a quote", ui.Branding{LogoURL: `https://cdn.example/logo.png"x`}},
		{"logo relative", ui.Branding{LogoURL: "logo.png"}},
		{"product name with a newline", ui.Branding{ProductName: "Acme\nInc"}},
		{"product name too long", ui.Branding{ProductName: strings.Repeat("a", 65)}},
		{"product name not UTF-8", ui.Branding{ProductName: "Acme\xff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ui.NewRenderer(ui.RendererConfig{Branding: tc.given}); !errors.Is(err, ui.ErrInvalidBranding) {
				t.Errorf("NewRenderer = %v, expected ErrInvalidBranding", err)
			}
		})
	}
}

func TestServeAsset(t *testing.T) {
	r := newRenderer(t, ui.RendererConfig{AssetPath: "/ui/assets/"})
	if !regexp.MustCompile(`^/ui/assets/ui\.[0-9a-f]{12}\.css$`).MatchString(r.StylesheetURL()) {
		t.Fatalf("StylesheetURL() = %q, expected a hashed name under the asset path", r.StylesheetURL())
	}
	for _, tc := range []struct {
		name, givenMethod, givenPath string
		expectStatus                 int
	}{
		{"stylesheet", http.MethodGet, r.StylesheetURL(), 200},
		{"stylesheet HEAD", http.MethodHead, r.StylesheetURL(), 200},
		{"stylesheet POST", http.MethodPost, r.StylesheetURL(), 405},
		{"other name", http.MethodGet, "/ui/assets/ui.css", 404},
		{"traversal", http.MethodGet, "/ui/assets/../render.go", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeAsset(w, httptest.NewRequest(tc.givenMethod, tc.givenPath, nil))
			if w.Code != tc.expectStatus {
				t.Fatalf("status %d, expected %d", w.Code, tc.expectStatus)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			if tc.expectStatus == 200 {
				if ct := w.Header().Get("Content-Type"); ct != "text/css; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
					t.Errorf("Cache-Control %q, expected immutable", cc)
				}
			}
		})
	}
	if _, err := ui.NewRenderer(ui.RendererConfig{AssetPath: "//evil.example/"}); !errors.Is(err, ui.ErrTemplate) {
		t.Errorf("NewRenderer with a scheme-relative asset path = %v, expected an error", err)
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOverrides(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "error.html", `{{define "title"}}{{.Brand.ProductName}}{{end}}
{{define "content"}}<h1 class="operator-heading">{{msg .Page.Heading}}</h1>{{end}}
`)
	writeFile(t, dir, "notes.txt", "ignored")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	o, err := ui.LoadOverrides(dir)
	if err != nil {
		t.Fatalf("LoadOverrides: %v", err)
	}
	r := newRenderer(t, ui.RendererConfig{Overrides: o})
	w := render(t, r, 404, "error", ui.ErrorPage{Kind: ui.ErrorNotFound})
	checkPageSafety(t, r, w)
	if body := w.Body.String(); !strings.Contains(body, `<h1 class="operator-heading">Page not found</h1>`) || !strings.Contains(body, "Skip to main content") {
		t.Errorf("the override did not replace the page inside the embedded layout:\n%s", body)
	}
}

func TestOverridesRefuse(t *testing.T) {
	for _, tc := range []struct {
		name, givenFile, givenText string
		atLoad                     bool
		expectIn                   []string
	}{
		{"syntax error", "error.html", "{{define \"title\"}}x{{end}}\n\n{{define \"content\"}}{{if}}{{end}}\n", true, []string{"error.html:3"}},
		{"unclosed action", "layout.html", "{{define \"layout\"}}\n<html>{{.Lang\n", true, []string{"layout.html:2"}},
		{"unknown function", "partials.html", "{{define \"field\"}}\n{{shout .}}{{end}}", true, []string{"partials.html:2", "shout"}},
		{"no such template", "eror.html", "{{define \"content\"}}{{end}}", true, []string{"eror.html", "overrides no template", "error.html"}},
		{"unknown message key", "error.html", "{{define \"title\"}}x{{end}}\n{{define \"content\"}}\n<p>{{t \"eror.heading\"}}</p>{{end}}", false, []string{"error.html:3", `"eror.heading"`}},
		{"branches ending in different contexts", "error.html", "{{define \"title\"}}x{{end}}{{define \"content\"}}{{if .Page}}<a href=\"{{end}}x\">{{end}}", false, []string{"error.html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tc.givenFile, tc.givenText)
			o, err := ui.LoadOverrides(dir)
			if err == nil {
				if tc.atLoad {
					t.Fatalf("LoadOverrides accepted a broken override")
				}
				_, err = ui.NewRenderer(ui.RendererConfig{Overrides: o})
			} else if !tc.atLoad {
				t.Fatalf("LoadOverrides: %v, expected NewRenderer to find the problem", err)
			}
			if !errors.Is(err, ui.ErrTemplate) {
				t.Fatalf("error %v, expected ErrTemplate", err)
			}
			for _, want := range tc.expectIn {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the override's path", err)
			}
		})
	}
	if _, err := ui.LoadOverrides(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, ui.ErrTemplate) {
		t.Errorf("LoadOverrides(absent dir) = %v, expected ErrTemplate", err)
	}
}
