package gatewaytest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ProxyBinary returns the path of the first of paths that is
// installed. When none is the test is skipped, unless CI is set: then
// it fails. pkg names the Debian package that installs it.
func ProxyBinary(t testing.TB, pkg string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (apt-get install %s); CI needs it", pkg, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s)", pkg, pkg)
	return ""
}

// StartCaddy finds caddy (Debian's package caddy), renders its
// Caddyfile with render into a new temporary directory for a free
// loopback port, and runs it until the test ends; it returns the
// host:port Caddy listens on. See StartNginx for the retries and logs.
func StartCaddy(t testing.TB, render Render) string {
	t.Helper()
	bin := ProxyBinary(t, "caddy", "caddy", "/usr/bin/caddy")
	return startProxy(t, "caddy", "Caddyfile", render, func(dir string) *exec.Cmd {
		cmd := exec.Command(bin, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir, "HOME="+dir)
		return cmd
	})
}

// StartHAProxy finds haproxy (Debian's package haproxy, built with
// Lua), renders haproxy.cfg with render into a new temporary directory
// for a free loopback port, and runs it in the foreground until the test
// ends; it returns the host:port HAProxy listens on.
func StartHAProxy(t testing.TB, render Render) string {
	t.Helper()
	bin := ProxyBinary(t, "haproxy", "haproxy", "/usr/sbin/haproxy")
	return startProxy(t, "haproxy", "haproxy.cfg", render, func(dir string) *exec.Cmd {
		return exec.Command(bin, "-db", "-f", filepath.Join(dir, "haproxy.cfg"))
	})
}

// Caddy renders the repository's Caddyfile
// (testdata/caddy/Caddyfile.tmpl) for the backend and authgw's admin
// listener, both host:port; .Port is the port of Listen.
func Caddy(repoRoot, backend, authgw string) Render {
	return func(t testing.TB, dir, listen string) string {
		t.Helper()
		_, port, err := net.SplitHostPort(listen)
		if err != nil {
			t.Fatal(err)
		}
		return Template(filepath.Join(repoRoot, "testdata", "caddy", "Caddyfile.tmpl"),
			map[string]string{"Backend": backend, "AuthGW": authgw, "Port": port})(t, dir, listen)
	}
}

// HAProxy renders the repository's haproxy.cfg
// (testdata/haproxy/haproxy.cfg.tmpl) for the backend and authgw's
// admin listener, both host:port; .Lua is the absolute path of
// testdata/haproxy/authgw.lua, which it loads.
func HAProxy(repoRoot, backend, authgw string) Render {
	return func(t testing.TB, dir, listen string) string {
		t.Helper()
		lua, err := filepath.Abs(filepath.Join(repoRoot, "testdata", "haproxy", "authgw.lua"))
		if err != nil {
			t.Fatal(err)
		}
		return Template(filepath.Join(repoRoot, "testdata", "haproxy", "haproxy.cfg.tmpl"),
			map[string]string{"Backend": backend, "AuthGW": authgw, "Lua": lua})(t, dir, listen)
	}
}

// startProxy renders dir/conf with render for a free loopback port and
// runs the command command(dir) makes until it accepts connections
// there; a port taken in between is retried, twice. A cleanup kills it
// and, when the test failed, logs its output.
func startProxy(t testing.TB, name, conf string, render Render, command func(dir string) *exec.Cmd) string {
	t.Helper()
	dir := t.TempDir()
	var lastErr error
	for range 3 {
		listen := FreeAddr(t)
		text := render(t, dir, listen)
		if err := os.WriteFile(filepath.Join(dir, conf), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if lastErr = runProxy(t, name, command(dir), listen, nil); lastErr == nil {
			return listen
		}
	}
	t.Fatalf("%s did not start: %v", name, lastErr)
	return ""
}

// runProxy starts cmd and waits until something accepts connections on
// listen; a cleanup kills it. It returns an error when cmd exits first or
// nothing listens within 10 s. moreLog, when not nil, adds what the
// proxy wrote elsewhere (nginx's error.log) to the output it reports.
func runProxy(t testing.TB, name string, cmd *exec.Cmd, listen string, moreLog func() string) error {
	t.Helper()
	var out LogBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	output := func() string {
		if moreLog == nil {
			return out.String()
		}
		return out.String() + "\n" + moreLog()
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited (%v): %s", name, err, output())
		default:
		}
		if c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return errors.New(name + " is not listening on " + listen + " after 10 s: " + output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s (%s) output: %s", name, listen, output())
		}
	})
	return nil
}
