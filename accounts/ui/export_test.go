package ui

import "io/fs"

// NewRendererFS builds a renderer from the templates in base instead of
// the embedded ones, for tests of pages that do not ship yet.
func NewRendererFS(cfg RendererConfig, base fs.FS) (*Renderer, error) {
	return newRenderer(cfg, base)
}

// EmbeddedTemplates is the embedded templates directory.
var EmbeddedTemplates = embeddedTemplates

// UsedKeys returns the message keys named by {{t "key"}} in every
// template of page.
func (r *Renderer) UsedKeys(page string) []string {
	var out []string
	for _, t := range r.pages[page].Templates() {
		if t.Tree == nil {
			continue
		}
		for _, k := range usedKeys(t.Tree) {
			out = append(out, k.key)
		}
	}
	return out
}
