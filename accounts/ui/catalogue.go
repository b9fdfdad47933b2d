package ui

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

//go:embed messages/en.json
var englishJSON []byte

// ErrInvalidCatalogue is returned by ParseCatalogue for a message file
// it cannot use.
var ErrInvalidCatalogue = errors.New("ui: invalid message catalogue")

// Catalogue holds every user-facing string of the pages, by key, in one
// language. Messages are fmt formats: a message that takes values says
// where with %s or, when a translation reorders them, %[2]s.
type Catalogue struct {
	lang string
	msgs map[string]string
}

var english = func() *Catalogue {
	c, err := parseCatalogue("en", englishJSON, nil)
	if err != nil {
		panic(err) // The embedded file is tested; this cannot happen in a build.
	}
	return c
}()

// English returns the catalogue shipped with authgw.
func English() *Catalogue { return english }

// ParseCatalogue reads a translation: a JSON object from key to message
// for the language tagged lang (a BCP 47 tag such as "de" or "pt-BR",
// printed as the pages' lang attribute). It errors, wrapping
// ErrInvalidCatalogue, on malformed JSON, an invalid tag, an empty
// message, a key English does not have, or a key of English it lacks,
// naming the keys, so that a translation is complete or refused at
// start-up.
func ParseCatalogue(lang string, data []byte) (*Catalogue, error) {
	return parseCatalogue(lang, data, english)
}

func parseCatalogue(lang string, data []byte, ref *Catalogue) (*Catalogue, error) {
	if !validLang(lang) {
		return nil, fmt.Errorf("%w: language tag %q", ErrInvalidCatalogue, lang)
	}
	var msgs map[string]string
	if err := json.Unmarshal(data, &msgs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCatalogue, err)
	}
	for k, v := range msgs {
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("%w: message %q is empty", ErrInvalidCatalogue, k)
		}
	}
	if ref != nil {
		var missing, unknown []string
		for k := range ref.msgs {
			if _, ok := msgs[k]; !ok {
				missing = append(missing, k)
			}
		}
		for k := range msgs {
			if _, ok := ref.msgs[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(missing)
		slices.Sort(unknown)
		if len(missing) > 0 || len(unknown) > 0 {
			return nil, fmt.Errorf("%w: missing keys %q, unknown keys %q", ErrInvalidCatalogue, missing, unknown)
		}
	}
	return &Catalogue{lang: lang, msgs: msgs}, nil
}

// Lang returns the catalogue's language tag.
func (c *Catalogue) Lang() string { return c.lang }

// Has reports whether the catalogue has a message for key.
func (c *Catalogue) Has(key string) bool {
	_, ok := c.msgs[key]
	return ok
}

// Keys returns every key of the catalogue, sorted.
func (c *Catalogue) Keys() []string { return slices.Sorted(maps.Keys(c.msgs)) }

// T returns the message for key formatted with args. A key the
// catalogue lacks gives "[missing: key]" rather than an error, so that a
// page still shows; templates use a stricter form that fails the render,
// and the tests check every key the templates name.
func (c *Catalogue) T(key string, args ...any) string {
	s, err := c.lookup(key, args...)
	if err != nil {
		return "[missing: " + key + "]"
	}
	return s
}

func (c *Catalogue) lookup(key string, args ...any) (string, error) {
	m, ok := c.msgs[key]
	if !ok {
		return "", fmt.Errorf("ui: no message %q in the %s catalogue", key, c.lang)
	}
	if len(args) == 0 {
		return m, nil
	}
	return fmt.Sprintf(m, args...), nil
}

// Duration says d in words, as mail and pages tell how long a code or
// link lives: "10 minutes", "1 hour", "1 hour and 30 minutes",
// "45 seconds". It names at most the two largest non-zero units (days,
// hours, minutes, seconds), dropping any remainder below them rather
// than rounding up, so a lifetime is never overstated; a duration under
// one second is "0 seconds".
func (c *Catalogue) Duration(d time.Duration) string {
	units := []struct {
		size time.Duration
		key  string
	}{
		{24 * time.Hour, "duration.days"},
		{time.Hour, "duration.hours"},
		{time.Minute, "duration.minutes"},
		{time.Second, "duration.seconds"},
	}
	if d < time.Second {
		return c.count("duration.seconds", 0)
	}
	var parts []string
	for _, u := range units {
		if len(parts) == 2 {
			break
		}
		n := int64(d / u.size)
		d -= time.Duration(n) * u.size
		if n > 0 {
			parts = append(parts, c.count(u.key, n))
		} else if len(parts) == 1 {
			// "1 hour and 5 seconds" would skip a unit; stop at the
			// first gap instead ("1 hour").
			break
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return c.T("duration.and", parts[0], parts[1])
}

// count picks the ".one" or ".other" form of key for n. English has two
// plural forms; a translation into a language with more uses the forms
// it has in these two messages.
func (c *Catalogue) count(key string, n int64) string {
	if n == 1 {
		return c.T(key+".one", n)
	}
	return c.T(key+".other", n)
}

// validLang accepts a BCP 47-shaped tag: letters, digits and "-", the
// first subtag 2 to 8 letters.
func validLang(tag string) bool {
	if tag == "" || len(tag) > 35 {
		return false
	}
	for i, sub := range strings.Split(tag, "-") {
		if sub == "" || len(sub) > 8 || i == 0 && len(sub) < 2 {
			return false
		}
		for _, r := range sub {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
				return false
			}
		}
	}
	return true
}
