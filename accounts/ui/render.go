package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates/*.html
var embeddedTemplates embed.FS

//go:embed static/ui.css
var stylesheetSource string

// scriptSource is the pages' one script: the passkey ceremonies
// (navigator.credentials), loaded only by the pages that offer passkeys
// (ScriptPage), from the gateway (the CSP's default-src 'self' is its
// script-src: no inline script, no other origin).
//
//go:embed static/passkeys.js
var scriptSource []byte

// The templates every page is built from; every other file in templates/
// is a page, named by its file name without ".html".
const (
	layoutFile   = "layout.html"
	partialsFile = "partials.html"
)

// DefaultAssetPath is the URL path under which Renderer.ServeAsset is
// mounted unless RendererConfig.AssetPath says otherwise.
const DefaultAssetPath = "/accounts/v1/ui/assets/"

// DefaultAccentColour is the accent colour of an unbranded page.
const DefaultAccentColour = "#1d70b8"

// ContentSecurityPolicy is the policy of every page: resources, forms
// and the base URL from the gateway only, no framing, and neither inline
// script nor inline style (no 'unsafe-inline'). An off-site logo adds
// its origin to img-src, and the origins return_to may name are added
// to form-action (RendererConfig.FormTargets; Renderer.CSP).
const ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// ReferrerPolicy is the pages' referrer policy: the address of a page
// goes to the gateway's own pages only, never to another site. It is not
// "no-referrer" for every page: under that policy a browser sends
// "Origin: null" with a form's POST, and the cookie-carried token of a
// signed-in form must come with its real origin to pass the gateway's
// cross-site check.
const ReferrerPolicy = "same-origin"

// NoReferrer sets "Referrer-Policy: no-referrer" on h, for a page whose
// address carries a code (an emailed link's): not even the gateway's
// own next page learns it. Call it before rendering; its forms must post
// to public routes (their Origin is then "null").
func NoReferrer(h http.Header) { h.Set("Referrer-Policy", "no-referrer") }

// Errors of the renderer.
var (
	// ErrInvalidBranding: a branding setting that could inject markup
	// or CSS, or break the page.
	ErrInvalidBranding = errors.New("ui: invalid branding")
	// ErrTemplate: a template (an override, most likely) does not
	// parse, names a message the catalogue lacks, or escapes unsafely.
	ErrTemplate = errors.New("ui: template error")
	// ErrUnknownPage: Render was asked for a page that has no template.
	ErrUnknownPage = errors.New("ui: unknown page")
)

// Branding is the operator's look of the pages. It reaches the pages as
// data (and the accent colour the stylesheet), never as markup.
type Branding struct {
	// ProductName is shown in the header, titles and mail. Optional.
	// Default "authgw". At most 64 characters, no control characters.
	ProductName string
	// LogoURL is the logo's address: a path on the gateway ("/…") or an
	// https:// URL, whose origin is then added to the pages' img-src.
	// Optional. Default no logo.
	LogoURL string
	// AccentColour is the colour of buttons and links, a CSS hex colour
	// "#rgb" or "#rrggbb" and nothing else, so it cannot carry CSS.
	// Optional. Default DefaultAccentColour.
	AccentColour string
}

// RendererConfig configures NewRenderer.
type RendererConfig struct {
	// Branding is the operator's product name, logo and colour.
	// Optional. Default an unbranded "authgw".
	Branding Branding
	// Catalogue holds the pages' strings. Optional. Default English().
	Catalogue *Catalogue
	// Overrides replace embedded templates of the same name (see
	// LoadOverrides). Optional. Default none.
	Overrides Overrides
	// AssetPath is the URL path, ending in "/", where ServeAsset is
	// mounted. Optional. Default DefaultAssetPath.
	AssetPath string
	// FormTargets are the origins (scheme://host[:port]) besides the
	// gateway's that a form's answer may redirect to: the origins return_to
	// may name. A browser follows a form's redirect only to an origin its
	// form-action allows, so each is added there. Optional. Default none.
	FormTargets []string
}

// Renderer renders the pages of the front door: a named page's template
// inside the base layout, with the branding and message catalogue, and
// the safety headers every page carries. It is safe for concurrent use.
type Renderer struct {
	pages      map[string]*template.Template
	cat        *Catalogue
	brand      Branding
	csp        string
	css        []byte
	stylesheet string // URL path of the stylesheet, with its hash in the name
	script     string // URL path of the script, with its hash in the name
}

// ScriptPage is a page view that says whether its page loads the
// pages' script (passkeys): pages without it carry no script at all.
type ScriptPage interface {
	UsesScript() bool
}

// View is what every template is executed with: the page's own data is
// Page, built by the handler; templates only print it.
type View struct {
	// Brand is the operator's branding, validated.
	Brand Branding
	// Lang is the catalogue's language tag, for <html lang>.
	Lang string
	// Stylesheet is the URL path of the stylesheet.
	Stylesheet string
	// Script is the URL path of the pages' script when the page loads it
	// (its Page is a ScriptPage that says so), else "".
	Script string
	// Page is the page's own view (ErrorPage for "error").
	Page any
}

// Msg is a message of the catalogue, by key, with the values it is
// formatted with; a time.Duration value is said in words. Templates
// print one with {{msg .}}. The zero Msg (no key) means "none".
type Msg struct {
	// Key is the message's key in the catalogue.
	Key string
	// Args are the values the message is formatted with.
	Args []any
}

// M returns the Msg for key and args.
func M(key string, args ...any) Msg { return Msg{Key: key, Args: args} }

// NewRenderer validates cfg, parses the embedded templates with the
// overrides in their place, checks that every message key the templates
// name is in the catalogue and that each page escapes safely, and builds
// the branded stylesheet. It errors with ErrInvalidBranding or
// ErrTemplate (naming the file and line) so that a server with a broken
// override fails at start-up, not on a visitor's request.
func NewRenderer(cfg RendererConfig) (*Renderer, error) {
	sub, err := fs.Sub(embeddedTemplates, "templates")
	if err != nil {
		return nil, err
	}
	return newRenderer(cfg, sub)
}

func newRenderer(cfg RendererConfig, base fs.FS) (*Renderer, error) {
	r := &Renderer{cat: cfg.Catalogue, brand: cfg.Branding, csp: ContentSecurityPolicy}
	for _, o := range cfg.FormTargets {
		// A checked origin holds no space, quote or ";" that would end
		// the source list or the directive.
		if _, rest, ok := splitAbsolute(o); !ok || rest != "" {
			return nil, fmt.Errorf("%w: form target %q is not scheme://host[:port]", ErrTemplate, o)
		}
		r.csp += " " + o
	}
	if r.cat == nil {
		r.cat = English()
	}
	if err := r.setBranding(); err != nil {
		return nil, err
	}
	assetPath := cfg.AssetPath
	if assetPath == "" {
		assetPath = DefaultAssetPath
	}
	if !strings.HasPrefix(assetPath, "/") || !strings.HasSuffix(assetPath, "/") || !safePath(assetPath) {
		return nil, fmt.Errorf("%w: asset path %q must be a path starting and ending with \"/\"", ErrTemplate, assetPath)
	}
	r.css = []byte(strings.ReplaceAll(stylesheetSource, "{{accent}}", r.brand.AccentColour))
	sum := sha256.Sum256(r.css)
	r.stylesheet = assetPath + "ui." + hex.EncodeToString(sum[:6]) + ".css"
	sum = sha256.Sum256(scriptSource)
	r.script = assetPath + "passkeys." + hex.EncodeToString(sum[:6]) + ".js"

	sources, err := templateSources(base, cfg.Overrides)
	if err != nil {
		return nil, err
	}
	r.pages = make(map[string]*template.Template)
	for name := range sources {
		if name == layoutFile || name == partialsFile {
			continue
		}
		t := template.New(name).Funcs(r.funcs())
		for _, file := range []string{layoutFile, partialsFile, name} {
			src := sources[file]
			if _, err := t.New(src.origin).Parse(src.text); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
			}
		}
		if err := r.checkKeys(t); err != nil {
			return nil, err
		}
		// html/template escapes on the first execution; do it now, with
		// no data, so that an override that cannot be escaped safely
		// fails here. Errors from the missing data are expected.
		var escErr *template.Error
		if err := t.ExecuteTemplate(io.Discard, "layout", nil); errors.As(err, &escErr) {
			return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
		}
		r.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return r, nil
}

func (r *Renderer) setBranding() error {
	b := &r.brand
	if b.ProductName == "" {
		b.ProductName = "authgw"
	}
	if utf8.RuneCountInString(b.ProductName) > 64 || !utf8.ValidString(b.ProductName) || strings.ContainsFunc(b.ProductName, unicode.IsControl) {
		return fmt.Errorf("%w: product name must be at most 64 characters of printable UTF-8", ErrInvalidBranding)
	}
	if b.AccentColour == "" {
		b.AccentColour = DefaultAccentColour
	}
	if !validHexColour(b.AccentColour) {
		return fmt.Errorf("%w: accent colour %q is not a CSS hex colour (#rgb or #rrggbb)", ErrInvalidBranding, b.AccentColour)
	}
	b.AccentColour = strings.ToLower(b.AccentColour)
	if b.LogoURL != "" {
		if _, ok := (ReturnPolicy{}).accept(b.LogoURL); ok {
			return nil
		}
		o, _, ok := splitAbsolute(b.LogoURL)
		if !ok || o.scheme != "https" || !uriChars(b.LogoURL) {
			return fmt.Errorf("%w: logo URL %q is neither a path on the gateway nor an https:// URL", ErrInvalidBranding, b.LogoURL)
		}
		src := "https://" + o.host
		if o.port != "443" {
			src += ":" + o.port
		}
		r.csp += "; img-src 'self' " + src
	}
	return nil
}

// CSP returns the Content-Security-Policy the renderer's pages carry.
func (r *Renderer) CSP() string { return r.csp }

// StylesheetURL returns the URL path of the branded stylesheet; its name
// carries a hash of its content, so it can be cached for ever.
func (r *Renderer) StylesheetURL() string { return r.stylesheet }

// ScriptURL returns the URL path of the pages' script; its name carries
// a hash of its content, so it can be cached for ever.
func (r *Renderer) ScriptURL() string { return r.script }

// Catalogue returns the renderer's message catalogue.
func (r *Renderer) Catalogue() *Catalogue { return r.cat }

// Pages returns the names of the pages the renderer can render, sorted.
func (r *Renderer) Pages() []string { return slices.Sorted(maps.Keys(r.pages)) }

// SetSecurityHeaders sets the headers every page carries: the CSP, no
// framing, the referrer policy (ReferrerPolicy, unless the handler set
// NoReferrer), no MIME sniffing and no caching. Render sets them; a handler that answers a
// page's request another way (a 303, say) calls it too.
func (r *Renderer) SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", r.csp)
	h.Set("X-Frame-Options", "DENY")
	if h.Get("Referrer-Policy") == "" {
		h.Set("Referrer-Policy", ReferrerPolicy)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

// Render writes the page named page with data as its View.Page and the
// given status. The page is rendered in full before anything is written:
// on error (ErrUnknownPage, or a template that fails on this data, such
// as one naming a message the catalogue lacks) nothing is written and
// the caller answers with an error page of its own.
func (r *Renderer) Render(w http.ResponseWriter, status int, page string, data any) error {
	t, ok := r.pages[page]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownPage, page)
	}
	var buf bytes.Buffer
	v := View{Brand: r.brand, Lang: r.cat.Lang(), Stylesheet: r.stylesheet, Page: data}
	if sp, ok := data.(ScriptPage); ok && sp.UsesScript() {
		v.Script = r.script
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("ui: rendering page %q: %w", page, err)
	}
	h := w.Header()
	r.SetSecurityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// ServeAsset serves the stylesheet at StylesheetURL and the script at
// ScriptURL (GET and HEAD), with a year's immutable caching, and 404 for
// any other path.
func (r *Renderer) ServeAsset(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	var body []byte
	var contentType string
	switch req.URL.Path {
	case r.stylesheet:
		body, contentType = r.css, "text/css; charset=utf-8"
	case r.script:
		body, contentType = scriptSource, "text/javascript; charset=utf-8"
	default:
		http.NotFound(w, req)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, req, path.Base(req.URL.Path), time.Time{}, bytes.NewReader(body))
}

func (r *Renderer) funcs() template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) (string, error) {
			return r.cat.lookup(key, r.words(args)...)
		},
		"msg": func(m Msg) (string, error) {
			return r.cat.lookup(m.Key, r.words(m.Args)...)
		},
	}
}

// words replaces each time.Duration among args with its words.
func (r *Renderer) words(args []any) []any {
	out := args
	cloned := false
	for i, a := range args {
		if d, ok := a.(time.Duration); ok {
			if !cloned {
				out, cloned = slices.Clone(args), true
			}
			out[i] = r.cat.Duration(d)
		}
	}
	return out
}

// checkKeys fails on a {{t "key"}} whose key the catalogue lacks, naming
// the template file, line and column.
func (r *Renderer) checkKeys(t *template.Template) error {
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		for _, k := range usedKeys(tt.Tree) {
			if !r.cat.Has(k.key) {
				return fmt.Errorf("%w: %s: no message %q in the %s catalogue", ErrTemplate, k.pos, k.key, r.cat.Lang())
			}
		}
	}
	return nil
}

type keyUse struct{ key, pos string }

// usedKeys returns the keys named as string constants in {{t "key" …}}
// calls anywhere in tree.
func usedKeys(tree *parse.Tree) []keyUse {
	var out []keyUse
	var walk func(parse.Node)
	var pipe func(*parse.PipeNode)
	pipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, cmd := range p.Cmds {
			if len(cmd.Args) >= 2 {
				if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
					if s, ok := cmd.Args[1].(*parse.StringNode); ok {
						loc, _ := tree.ErrorContext(s)
						out = append(out, keyUse{key: s.Text, pos: loc})
					}
				}
			}
			for _, a := range cmd.Args {
				if p, ok := a.(*parse.PipeNode); ok {
					pipe(p)
				}
			}
		}
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			pipe(n.Pipe)
		case *parse.IfNode:
			pipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			pipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			pipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			pipe(n.Pipe)
		}
	}
	walk(tree.Root)
	return out
}

// Overrides are operator templates that replace embedded ones of the
// same file name. The zero value replaces none.
type Overrides struct {
	files map[string]source
}

type source struct {
	origin string // the file's path, as parse errors name it
	text   string
}

// LoadOverrides reads the *.html files of dir (other files and
// subdirectories are ignored), each replacing the embedded template of
// the same name (layout.html, partials.html, or a page such as
// error.html). It errors, wrapping ErrTemplate, when dir cannot be read,
// a file names no embedded template (a typo would otherwise be silently
// ignored), or a file does not parse; the error names the file and line.
// NewRenderer checks the rest (message keys, escaping) with the whole
// set in place.
func LoadOverrides(dir string) (Overrides, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Overrides{}, fmt.Errorf("%w: reading overrides: %v", ErrTemplate, err)
	}
	known, err := fs.Glob(embeddedTemplates, "templates/*.html")
	if err != nil {
		return Overrides{}, err
	}
	for i := range known {
		known[i] = path.Base(known[i])
	}
	o := Overrides{files: map[string]source{}}
	stub := template.FuncMap{"t": func(string, ...any) string { return "" }, "msg": func(Msg) string { return "" }}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".html") {
			continue
		}
		file := filepath.Join(dir, e.Name())
		if !slices.Contains(known, e.Name()) {
			return Overrides{}, fmt.Errorf("%w: %s overrides no template; the templates are %s", ErrTemplate, file, strings.Join(known, ", "))
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return Overrides{}, fmt.Errorf("%w: %v", ErrTemplate, err)
		}
		if !utf8.Valid(b) {
			return Overrides{}, fmt.Errorf("%w: %s is not UTF-8", ErrTemplate, file)
		}
		if _, err := template.New(file).Funcs(stub).Parse(string(b)); err != nil {
			return Overrides{}, fmt.Errorf("%w: %v", ErrTemplate, err)
		}
		o.files[e.Name()] = source{origin: file, text: string(b)}
	}
	return o, nil
}

// templateSources returns every template file by name: base's, with the
// overrides in place of their namesakes.
func templateSources(base fs.FS, o Overrides) (map[string]source, error) {
	names, err := fs.Glob(base, "*.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string]source, len(names))
	for _, n := range names {
		if ov, ok := o.files[n]; ok {
			out[n] = ov
			continue
		}
		b, err := fs.ReadFile(base, n)
		if err != nil {
			return nil, err
		}
		out[n] = source{origin: "templates/" + n, text: string(b)}
	}
	for _, must := range []string{layoutFile, partialsFile} {
		if _, ok := out[must]; !ok {
			return nil, fmt.Errorf("%w: no %s", ErrTemplate, must)
		}
	}
	return out, nil
}

func validHexColour(s string) bool {
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
