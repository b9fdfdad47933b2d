package portal

import (
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// qrQuietZone is the white margin around a QR code, in modules, that
// scanners need.
const qrQuietZone = 4

// maxQRContent bounds what qrSVG encodes: an otpauth:// URI is well
// under it, and a QR code of level M holds little more.
const maxQRContent = 1024

// qrSVG draws the QR code of content (error correction level M, as the
// API's PNG) as an inline SVG: a white square and one <path> of the dark
// modules, a run of each row per subpath, in a viewBox of modules, so it
// scales with the page. The pages' CSP allows neither data: images nor
// inline styles, so the PNG of the API's answer cannot be shown; this
// markup needs neither (presentation attributes only). label is read to
// a screen reader (role="img").
func qrSVG(content, label string) (template.HTML, error) {
	if content == "" || len(content) > maxQRContent {
		return "", errors.New("portal: QR content empty or too long")
	}
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("portal: QR code: %w", err)
	}
	b := code.Bounds()
	n := b.Dx()
	size := n + 2*qrQuietZone
	var path strings.Builder
	for y := 0; y < n; y++ {
		for x := 0; x < n; {
			if !qrDark(code.At(b.Min.X+x, b.Min.Y+y)) {
				x++
				continue
			}
			start := x
			for x < n && qrDark(code.At(b.Min.X+x, b.Min.Y+y)) {
				x++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", start+qrQuietZone, y+qrQuietZone, x-start, x-start)
		}
	}
	s := strconv.Itoa(size)
	out := `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + s + ` ` + s + `" width="240" height="240"` +
		` role="img" aria-label="` + template.HTMLEscapeString(label) + `" shape-rendering="crispEdges">` +
		`<rect width="` + s + `" height="` + s + `" fill="#ffffff"/>` +
		`<path fill="#000000" d="` + path.String() + `"/></svg>`
	return template.HTML(out), nil
}

func qrDark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r+g+b < 3*0x8000
}
