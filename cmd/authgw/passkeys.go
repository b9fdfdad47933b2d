package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/authgw/authgw/policy/netaddr"
)

// The passkey settings (the README's "Passkeys in the browser").
const (
	webauthnRPIDSetting    = "webauthn-rp-id"
	webauthnOriginsSetting = "webauthn-origins"
	// webauthnOff is the --webauthn-rp-id value that turns passkeys off.
	webauthnOff = "off"
)

// webauthnSettings are the passkey settings as given: rpID "" and
// origins nil when unset (then derived from the public URL once it is
// known, webauthnDefaults).
type webauthnSettings struct {
	rpID    string
	origins []string
	off     bool
}

// resolveWebAuthn reads --webauthn-rp-id and --webauthn-origins, and
// checks them against the public URL (publicURL, or the one the listen
// address will give), so that a bad value is a usage error naming its
// setting before anything is written.
func (s *serveCommand) resolveWebAuthn(c *cli, publicURL, listen string) (webauthnSettings, error) {
	var w webauthnSettings
	var err error
	if w.rpID, err = resolveSetting(c, &s.settings, webauthnRPIDSetting, "", parseRPID); err != nil {
		return w, err
	}
	if w.rpID == webauthnOff {
		w.rpID, w.off = "", true
	}
	if w.origins, err = resolveSetting(c, &s.settings, webauthnOriginsSetting, nil, parseOrigins); err != nil {
		return w, err
	}
	if w.off && len(w.origins) > 0 {
		return w, &usageError{msg: "--" + webauthnOriginsSetting + ": set, but --" + webauthnRPIDSetting + " is off"}
	}
	if w.rpID != "" && len(w.origins) > 0 {
		if err := originsOnRPID(w.rpID, w.origins); err != nil {
			return w, &usageError{msg: "--" + webauthnOriginsSetting + ": " + err.Error()}
		}
	}
	if publicURL == "" {
		publicURL = defaultPublicURL(listen)
	}
	_, _, _, err = webauthnConfig(w, publicURL)
	return w, err
}

// parseRPID reads --webauthn-rp-id: "off", or a host name (a domain, not
// an IP address: browsers refuse an IP address as a relying-party ID),
// without scheme or port.
func parseRPID(v string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == webauthnOff {
		return v, nil
	}
	if !validHostName(v) {
		return "", fmt.Errorf("%q is not a host name: want the site's domain, such as example.com or auth.example.com (no scheme, port or IP address), or off", v)
	}
	return v, nil
}

// validHostName reports whether v is a DNS host name of letters, digits
// and hyphens, not an IP address.
func validHostName(v string) bool {
	if v == "" || len(v) > 253 || net.ParseIP(v) != nil {
		return false
	}
	if !netaddr.DNSName(v) {
		return false
	}
	// A name of digits and dots alone is an IPv4 address in another
	// spelling.
	return strings.Trim(v, "0123456789.") != ""
}

// originsOnRPID checks that each origin's host is rpID or under it (the
// browser's rule: a page may use the passkeys of its own domain and of
// the domains above it) and that each is a secure context, https or a
// localhost name.
func originsOnRPID(rpID string, origins []string) error {
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil {
			return fmt.Errorf("%q is not an origin", o)
		}
		h := u.Hostname()
		if h != rpID && !strings.HasSuffix(h, "."+rpID) {
			return fmt.Errorf("the origin %q is not on the relying-party ID %q (its host must be %s or end in .%s)", o, rpID, rpID, rpID)
		}
		if u.Scheme != "https" && !isLocalhost(h) {
			return fmt.Errorf("the origin %q is http: browsers use passkeys only on https pages, or on http://localhost", o)
		}
	}
	return nil
}

// isLocalhost reports whether host is localhost or a name under it: a
// secure context over plain http too.
func isLocalhost(host string) bool {
	host = strings.ToLower(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// webauthnConfig returns the relying-party ID and origins of the
// accounts service for the public URL: the settings as given, else
// derived. Unset, the RP ID is the public URL's host and the origin the
// public URL, when browsers can use passkeys there: an https URL, or
// http://localhost. A public URL on a loopback IP address (serve's
// default, http://127.0.0.1:6546) gives localhost on the same port: the
// pages work with passkeys when the browser opens
// http://localhost:PORT. Any other IP address, or plain http on another
// name, leaves passkeys off, and why says so (for the log). An error is
// a usage error naming the setting that cannot be used.
func webauthnConfig(w webauthnSettings, publicURL string) (rpID string, origins []string, why string, err error) {
	if w.off {
		return "", nil, "--" + webauthnRPIDSetting + " is off", nil
	}
	u, perr := url.Parse(publicURL)
	if perr != nil || u.Host == "" {
		return "", nil, "", &usageError{msg: "--" + publicURLSetting + ": not a URL"}
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	derivedOrigin := strings.TrimSuffix(publicURL, "/")
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		host = "localhost"
		derivedOrigin = u.Scheme + "://localhost"
		if port != "" {
			derivedOrigin += ":" + port
		}
	}
	rpID, origins = w.rpID, w.origins
	if rpID == "" {
		if !validHostName(host) {
			if len(origins) > 0 {
				return "", nil, "", &usageError{msg: fmt.Sprintf("--%s: set, but no relying-party ID: the public URL's host %q is an IP address; set --%s", webauthnOriginsSetting, host, webauthnRPIDSetting)}
			}
			return "", nil, fmt.Sprintf("the public URL's host %q is an IP address, which browsers refuse for passkeys: set --%s and --%s, or a --%s with a host name", host, webauthnRPIDSetting, webauthnOriginsSetting, publicURLSetting), nil
		}
		rpID = host
	}
	if len(origins) == 0 {
		ou, _ := url.Parse(derivedOrigin)
		if ou.Scheme != "https" && !isLocalhost(ou.Hostname()) {
			if w.rpID != "" {
				return "", nil, "", &usageError{msg: fmt.Sprintf("--%s: unset, and the public URL %s is plain http, where browsers refuse passkeys: set --%s to the https origins of the pages", webauthnOriginsSetting, derivedOrigin, webauthnOriginsSetting)}
			}
			return "", nil, fmt.Sprintf("the public URL %s is plain http, where browsers refuse passkeys (https, or http://localhost, is needed)", derivedOrigin), nil
		}
		origins = []string{derivedOrigin}
	}
	if err := originsOnRPID(rpID, origins); err != nil {
		label := "--" + webauthnOriginsSetting
		if len(w.origins) == 0 {
			label = "--" + webauthnRPIDSetting
		}
		return "", nil, "", &usageError{msg: label + ": " + err.Error()}
	}
	return rpID, origins, "", nil
}

// resolvePasskeys sets rpID and rpOrigins for the public URL, and logs
// whether passkeys are on.
func (ps *pageSettings) resolvePasskeys(logger *slog.Logger) error {
	rpID, origins, off, err := webauthnConfig(ps.webauthn, ps.publicURL)
	if err != nil {
		return err
	}
	ps.rpID, ps.rpOrigins = rpID, origins
	if off != "" {
		logger.Info("passkeys are off: "+off, "setting", "--"+webauthnRPIDSetting)
		return nil
	}
	logger.Info("passkeys are on", "rp_id", rpID, "origins", strings.Join(origins, ","))
	return nil
}
