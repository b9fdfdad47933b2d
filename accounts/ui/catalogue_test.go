package ui_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/ui"
)

func TestTemplatesUseOnlyCatalogueKeys(t *testing.T) {
	r := formRenderer(t)
	cat := ui.English()
	seen := 0
	for _, page := range r.Pages() {
		for _, k := range r.UsedKeys(page) {
			seen++
			if !cat.Has(k) {
				t.Errorf("page %s names message %q, which the catalogue lacks", page, k)
			}
		}
	}
	if seen == 0 {
		t.Fatal("found no {{t \"key\"}} in the templates: the scan is broken")
	}
}

var (
	templateAction = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	htmlComment    = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlTag        = regexp.MustCompile(`(?s)<[^>]*>`)
	htmlEntity     = regexp.MustCompile(`&[a-zA-Z]+;|&#[0-9]+;`)
	// Attributes whose values people read or hear.
	textAttr = regexp.MustCompile(`(?i)\s(alt|title|aria-label|placeholder|value|label)="([^"]*)"`)
	letter   = regexp.MustCompile(`\pL`)
)

// hardCodedText returns the words of src that a person would read or
// hear but that do not come from the catalogue: text between tags and
// readable attribute values, once template actions are removed.
func hardCodedText(src string) []string {
	var out []string
	noActions := templateAction.ReplaceAllString(src, "")
	noActions = htmlComment.ReplaceAllString(noActions, "")
	for _, tag := range htmlTag.FindAllString(noActions, -1) {
		if strings.HasPrefix(tag, "<!DOCTYPE") {
			continue
		}
		for _, m := range textAttr.FindAllStringSubmatch(tag, -1) {
			if letter.MatchString(m[2]) {
				out = append(out, m[0])
			}
		}
	}
	text := htmlEntity.ReplaceAllString(htmlTag.ReplaceAllString(noActions, " "), " ")
	for _, w := range strings.Fields(text) {
		if letter.MatchString(w) {
			out = append(out, w)
		}
	}
	return out
}

func TestHardCodedTextScan(t *testing.T) {
	for _, tc := range []struct {
		name, given string
		expectFound bool
	}{
		{"catalogue only", `<p class="x">{{t "a.b"}}</p>`, false},
		{"text", `<p>{{t "a"}} Sign in</p>`, true},
		{"alt", `<img src="/x" alt="Logo">`, true},
		{"aria-label", `<nav aria-label="Main">`, true},
		{"alt from the catalogue", `<img src="/x" alt="{{t "a"}}">`, false},
		{"punctuation", `<p>{{t "a"}} – {{t "b"}}.</p>`, false},
		{"comment", `<!-- a note -->`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hardCodedText(tc.given); (len(got) > 0) != tc.expectFound {
				t.Errorf("hardCodedText(%q) = %q, expected found=%v", tc.given, got, tc.expectFound)
			}
		})
	}
}

func TestTemplatesHaveNoHardCodedText(t *testing.T) {
	files, err := fs.Glob(ui.EmbeddedTemplates, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded templates: %v", err)
	}
	files = append(files, "testdata/form.html")
	for _, f := range files {
		var b []byte
		if strings.HasPrefix(f, "testdata/") {
			b, err = os.ReadFile(f)
		} else {
			b, err = fs.ReadFile(ui.EmbeddedTemplates, f)
		}
		if err != nil {
			t.Fatal(err)
		}
		if words := hardCodedText(string(b)); len(words) > 0 {
			t.Errorf("%s has text outside the catalogue: %q", f, words)
		}
	}
}

func TestEnglishCatalogue(t *testing.T) {
	c := ui.English()
	if c.Lang() != "en" || len(c.Keys()) == 0 {
		t.Fatalf("English() = lang %q with %d keys", c.Lang(), len(c.Keys()))
	}
	for _, kind := range ui.ErrorKinds {
		for _, part := range []string{"heading", "happened", "todo"} {
			if k := "error." + string(kind) + "." + part; !c.Has(k) {
				t.Errorf("no message %q for error page %s", k, kind)
			}
		}
	}
	if got := c.T("error.too_many.todo", "5 minutes"); got != "Wait 5 minutes and try again." {
		t.Errorf("T = %q", got)
	}
	if got := c.T("no.such.key"); got != "[missing: no.such.key]" {
		t.Errorf("T(missing) = %q", got)
	}
}

func englishMessages(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, k := range ui.English().Keys() {
		m[k] = ui.English().T(k)
	}
	return m
}

func TestParseCatalogue(t *testing.T) {
	full := englishMessages(t)
	full["error.continue"] = "Zurück zum Anfang"
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	de, err := ui.ParseCatalogue("de", data)
	if err != nil {
		t.Fatalf("ParseCatalogue: %v", err)
	}
	r := newRenderer(t, ui.RendererConfig{Catalogue: de})
	body := render(t, r, 404, "error", ui.ErrorPage{Kind: ui.ErrorNotFound, ContinueURL: "/"}).Body.String()
	if !strings.Contains(body, `<html lang="de">`) || !strings.Contains(body, "Zurück zum Anfang") {
		t.Errorf("the translation is not used:\n%s", body)
	}

	missing := englishMessages(t)
	delete(missing, "error.continue")
	extra := englishMessages(t)
	extra["error.contniue"] = "typo"
	empty := englishMessages(t)
	empty["error.continue"] = "  "
	for _, tc := range []struct {
		name, givenLang string
		givenMsgs       map[string]string
		givenJSON       string
		expectIn        string
	}{
		{"missing key", "de", missing, "", `"error.continue"`},
		{"unknown key", "de", extra, "", `"error.contniue"`},
		{"empty message", "de", empty, "", `"error.continue"`},
		{"malformed JSON", "de", nil, `{"a":`, ""},
		{"not an object of strings", "de", nil, `{"a": 1}`, ""},
		{"empty language", "", full, "", "language"},
		{"language with a quote", `de"x`, full, "", "language"},
		{"one-letter language", "d", full, "", "language"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.givenJSON)
			if tc.givenMsgs != nil {
				var err error
				if data, err = json.Marshal(tc.givenMsgs); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ui.ParseCatalogue(tc.givenLang, data)
			if !errors.Is(err, ui.ErrInvalidCatalogue) {
				t.Fatalf("ParseCatalogue = %v, expected ErrInvalidCatalogue", err)
			}
			if !strings.Contains(err.Error(), tc.expectIn) {
				t.Errorf("error %q does not name %q", err, tc.expectIn)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	c := ui.English()
	for _, tc := range []struct {
		given  time.Duration
		expect string
	}{
		{10 * time.Minute, "10 minutes"},
		{20 * time.Minute, "20 minutes"},
		{time.Hour, "1 hour"},
		{time.Minute, "1 minute"},
		{time.Second, "1 second"},
		{45 * time.Second, "45 seconds"},
		{90 * time.Second, "1 minute and 30 seconds"},
		{90 * time.Minute, "1 hour and 30 minutes"},
		{2*time.Hour + time.Minute, "2 hours and 1 minute"},
		{time.Hour + 5*time.Second, "1 hour"},
		{time.Hour + 30*time.Minute + 59*time.Second, "1 hour and 30 minutes"},
		{24 * time.Hour, "1 day"},
		{30 * 24 * time.Hour, "30 days"},
		{49 * time.Hour, "2 days and 1 hour"},
		{10*time.Minute + 999*time.Millisecond, "10 minutes"},
		{500 * time.Millisecond, "0 seconds"},
		{0, "0 seconds"},
		{-time.Minute, "0 seconds"},
	} {
		t.Run(tc.given.String(), func(t *testing.T) {
			if got := c.Duration(tc.given); got != tc.expect {
				t.Errorf("Duration(%v) = %q, expected %q", tc.given, got, tc.expect)
			}
		})
	}
}
