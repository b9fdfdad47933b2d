package portal

import (
	"strings"
	"testing"
)

// TestQRSVG: the QR code is one path of dark modules in a square with a
// quiet zone, with presentation attributes only and its label escaped.
func TestQRSVG(t *testing.T) {
	svg, err := qrSVG("otpauth://totp/x:ann@example.com?secret=JBSWY3DPEHPK3PXP&issuer=x", `a "label" <b>`)
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	for _, bad := range []string{"style", "<script", "data:", "<b>", "<image", "href"} {
		if strings.Contains(s, bad) {
			t.Errorf("the SVG has %q: %s", bad, s)
		}
	}
	if strings.Count(s, "<path") != 1 || !strings.Contains(s, `role="img"`) || !strings.Contains(s, `aria-label="a &#34;label&#34; &lt;b&gt;"`) {
		t.Errorf("SVG: %.300s", s)
	}
	if _, err := qrSVG("", "x"); err == nil {
		t.Error("empty content encoded")
	}
	if _, err := qrSVG(strings.Repeat("a", 5000), "x"); err == nil {
		t.Error("oversized content encoded")
	}
}

func TestOTPAuthSecret(t *testing.T) {
	for uri, want := range map[string]string{
		"otpauth://totp/x:a?secret=JBSWY3DPEHPK3PXP&issuer=x": "JBSWY3DPEHPK3PXP",
		"javascript:alert(1)":                                 "",
		"otpauth://totp/x?secret=abc":                         "",
		"otpauth://totp/x?secret=JBSW%3Cb%3E":                 "",
		"otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP":            "",
		"otpauth://totp/x?secret=" + strings.Repeat("A", 600): "",
	} {
		if got, _ := otpauthSecret(uri); got != want {
			t.Errorf("%.60s: %q, want %q", uri, got, want)
		}
	}
	if g := groupSecret("ABCDEFGHIJ"); g != "ABCD EFGH IJ" {
		t.Errorf("groupSecret: %q", g)
	}
}

func TestShortAgent(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                                  "settings.sessions.agent_on [Firefox Linux]",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1": "settings.sessions.agent_on [Safari iOS]",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0":                   "settings.sessions.agent_on [Edge Windows]",
		"":                       "settings.sessions.agent_unknown []",
		"SomeBot":                "settings.sessions.agent [SomeBot]",
		strings.Repeat("x", 100): "settings.sessions.agent_cut [" + strings.Repeat("x", 40) + "]",
	} {
		m := shortAgent(ua)
		got := m.Key + " ["
		for i, a := range m.Args {
			if i > 0 {
				got += " "
			}
			got += a.(string)
		}
		got += "]"
		if got != want {
			t.Errorf("%.40s: %s, want %s", ua, got, want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"01a24b39-aa00-7000-a115-7f96b4e6fabc": true, "": false, "..": false, "a/b": false, "a?b": false, "a%2Fb": false,
		strings.Repeat("a", 65): false, "a\x00": false,
	} {
		if validPathID(id) != want {
			t.Errorf("validPathID(%q) = %v", id, !want)
		}
	}
}
