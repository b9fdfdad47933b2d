package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway/demo"
)

// serve starts the demo backend (package gateway/demo) on its own
// listener (--demo-listen, default 127.0.0.1:6548) and registers it as
// the API demo v1, so that a fresh `authgw serve` has something behind
// the gateway to try tokens on. `--demo-listen off` turns it off.

const (
	// defaultDemoListen is the default of --demo-listen.
	defaultDemoListen = "127.0.0.1:6548"
	// demoOff is the --demo-listen value that turns the demo off.
	demoOff = "off"
)

// parseDemoListen reads --demo-listen: "off" turns the demo off (""
// is returned); anything else must be a host:port.
func parseDemoListen(v string) (string, error) {
	if strings.EqualFold(v, demoOff) {
		return "", nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return "", fmt.Errorf("%v (want HOST:PORT, or off)", err)
	}
	return v, nil
}

// resolveDemoListen resolves --demo-listen: its address, "" when the demo
// is off. Besides "off" at any level, an empty --demo-listen given on
// the command line turns it off; an empty environment variable or
// config value counts as unset, as for every setting. The demo is part
// of the embedded defaults only: when a database is configured
// (--database, as in production) it is off unless --demo-listen asks for
// it.
func resolveDemoListen(c *cli, s *settings) (string, error) {
	if v, given := s.given["demo-listen"]; given && v == "" {
		return "", nil
	}
	def := defaultDemoListen
	if _, _, found, err := s.lookup(c, "database"); err != nil {
		return "", err
	} else if found {
		def = ""
	}
	return resolveSetting(c, s, "demo-listen", def, parseDemoListen)
}

// demoServer is the running demo backend of serve.
type demoServer struct {
	listener net.Listener
	server   *http.Server
	// url is the demo's base URL as registered: its listener's address,
	// with a loopback host when it listens on every interface.
	url string
	// routed is whether the API demo v1 is registered at url, so that
	// the gateway routes /demo/v1 to it.
	routed bool
}

// startDemo starts listening on addr for the demo backend, whose
// request-info verifier takes pub and issuer. It returns nil, having
// logged why, when the address cannot be listened on: the demo is not
// needed for the gateway to work. serve runs the returned server.
func startDemo(addr string, pub *ecdsa.PublicKey, issuer string, logger *slog.Logger) (*demoServer, error) {
	h, err := demo.NewHandler(demo.Config{Key: pub, Issuer: issuer})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Warn("the demo backend is not started (set --demo-listen to a free address, or off)", "addr", addr, "err", err)
		return nil, nil
	}
	logger.Warn("the demo backend is listening: it is for trying authgw out, not for production (--demo-listen off turns it off)",
		"addr", l.Addr().String())
	return &demoServer{listener: l, server: newServer(addr, h, logger), url: "http://" + reachableAddr(l.Addr())}, nil
}

// reachableAddr is addr with a loopback host in place of an unspecified
// one (0.0.0.0, ::), so that the gateway can dial it.
func reachableAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	host := "127.0.0.1"
	if tcp.IP.To4() == nil {
		host = "::1"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// register registers the API demo v1 at the demo's URL, active and
// with loginRedirect, unless an API named demo is registered already (in
// any version, at any URL): an existing registration is never changed.
// It sets d.routed.
func (d *demoServer) register(ctx context.Context, c *cli, store *db.DB, logger *slog.Logger) error {
	apis, err := store.ListAPIs(ctx)
	if err != nil {
		return err
	}
	for _, a := range apis {
		if a.Name != demo.APIName {
			continue
		}
		if a.Version == demo.APIVersion && a.URL == d.url && a.Active {
			d.routed = true
			return nil
		}
		logger.Warn("an API named demo is registered already, not as the demo backend; it is left as it is, and the gateway does not route to the demo backend",
			"version", a.Version, "url", a.URL, "active", a.Active, "demo_backend", d.url)
		return nil
	}
	// LoginRedirect: a browser without a session is sent to the sign-in
	// page, so that the quickstart can be done in a browser.
	err = store.CreateAPI(ctx, db.API{Name: demo.APIName, Version: demo.APIVersion, URL: d.url, Active: true, LoginRedirect: true,
		CreatedMs: c.now().UnixMilli()})
	if errors.Is(err, db.ErrDuplicate) {
		// Another gateway on the same database registered it a moment ago.
		return d.register(ctx, c, store, logger)
	}
	if err != nil {
		return err
	}
	d.routed = true
	logger.Info("registered the demo backend as the API demo v1 (authgw apis remove --name demo --version 1 removes it)", "url", d.url)
	return nil
}
