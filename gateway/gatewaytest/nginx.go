package gatewaytest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"text/template"
)

// nginxPaths are where NginxBinary looks, in order.
var nginxPaths = []string{"nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"}

// NginxBinary returns the path of nginx. When it is not installed the
// test is skipped, unless CI is set: then it fails.
func NginxBinary(t testing.TB) string {
	t.Helper()
	for _, p := range nginxPaths {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed (apt-get install nginx-light); CI needs it")
	}
	t.Skip("nginx is not installed (apt-get install nginx-light)")
	return ""
}

// FreeAddr returns a loopback host:port whose port was free a moment
// ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Render writes nginx's configuration for one attempt to listen on
// listen: it returns the text of dir/nginx.conf, and may write other
// files (included ones) into dir.
type Render func(t testing.TB, dir, listen string) string

// StartNginx finds nginx (see NginxBinary), renders its configuration
// into a new temporary directory for a free loopback port, and runs it
// until the test ends; it returns the host:port nginx listens on. A
// port taken between the check and nginx's bind is retried, twice. It
// fails the test when nginx does not start; when the test failed, the
// cleanup logs nginx's output and error log.
func StartNginx(t testing.TB, render Render) string {
	t.Helper()
	bin := NginxBinary(t)
	dir := t.TempDir()
	var lastErr error
	for range 3 {
		listen := FreeAddr(t)
		conf := render(t, dir, listen)
		if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if lastErr = runNginx(t, bin, dir, listen); lastErr == nil {
			return listen
		}
	}
	t.Fatalf("nginx did not start: %v", lastErr)
	return ""
}

// Template renders the text/template file at path with data, adding
// "Dir" (nginx's directory) and "Listen" (its host:port) when data is a
// map[string]string; any other data is passed as it is.
func Template(path string, data any) Render {
	return func(t testing.TB, dir, listen string) string {
		t.Helper()
		tmpl, err := template.ParseFiles(path)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := data.(map[string]string); ok {
			withPlace := map[string]string{"Dir": dir, "Listen": listen}
			for k, v := range m {
				withPlace[k] = v
			}
			data = withPlace
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
}

// ForwardAuth renders the repository's forward-auth nginx template
// (testdata/nginx/forward-auth.conf.tmpl; repoRoot is the path from the
// test's directory to the repository) for the backend and the authgw
// forward-auth listener, both host:port.
func ForwardAuth(repoRoot, backend, authgw string) Render {
	return Template(filepath.Join(repoRoot, "testdata", "nginx", "forward-auth.conf.tmpl"),
		map[string]string{"Backend": backend, "AuthGW": authgw})
}

// runNginx starts nginx on dir/nginx.conf and waits until it accepts
// connections on listen; a cleanup kills it. It returns an error when
// nginx exits or is not listening within 10 s.
func runNginx(t testing.TB, bin, dir, listen string) error {
	t.Helper()
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	return runProxy(t, "nginx", cmd, listen, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return "error.log:\n" + string(log)
	})
}
