package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/gateway/gatewaytest"
)

// The data directory's files and the variables of the command line, as
// the README documents them.
const (
	envDataDir   = "AUTHGW_DATA_DIR"
	envDatabase  = "AUTHGW_DATABASE"
	keysFile     = "keys.json"
	serverIDFile = "server-id"
	infoKeyFile  = "info-key.pem"
	totpKeyFile  = "totp-key"
	databaseFile = "authgw.db"
	policiesDir  = "../../../testdata/policies"
)

// Exit statuses of the command line.
const (
	exitOK    = 0
	exitUsage = 2
	// exitRace is the status a binary built with -race exits with when
	// it saw a data race.
	exitRace = 66
)

// The authgw binary under test, built once by authgwBinary.
var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// TestMain removes the binary built for the run.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// authgwBinary returns the path of the authgw binary, building it on the
// first call of the run (with -race when this test binary has the race
// detector on).
func authgwBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "authgw-e2e-"); buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "authgw")
		args := []string{"build", "-o", buildPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/authgw/authgw/cmd/authgw")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// processEnv is the environment of a run: vars only, plus GORACE so
// that a race the binary sees makes it exit with exitRace. The race
// runtime waits 1 s at exit by default for late reports; 100 ms keeps
// the hundreds of runs of a suite from adding minutes.
func processEnv(vars map[string]string) []string {
	env := []string{fmt.Sprintf("GORACE=exitcode=%d atexit_sleep_ms=100", exitRace)}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// result is what one run of the command line produced.
type result struct {
	code           int
	stdout, stderr string
}

// invocation is one command line with its environment.
type invocation struct {
	args  []string
	stdin string
	vars  map[string]string
}

// args is a shorthand for an invocation with arguments only.
func args(a ...string) invocation { return invocation{args: a} }

// runCLI runs an invocation of the binary and waits for it (2 minutes at
// most). Unless the invocation sets it, AUTHGW_DATA_DIR points at an
// empty temporary directory, so that no ./authgw-data of the
// developer's is ever read.
func runCLI(t *testing.T, inv invocation) result {
	t.Helper()
	vars := map[string]string{envDataDir: t.TempDir()}
	for k, v := range inv.vars {
		vars[k] = v
	}
	cmd := exec.Command(authgwBinary(t), inv.args...)
	cmd.Env = processEnv(vars)
	cmd.Stdin = strings.NewReader(inv.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("authgw %s: %v", strings.Join(inv.args, " "), err)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	expectNoRace(t, "authgw "+strings.Join(inv.args, " "), r.code, r.stderr)
	return r
}

// expectNoRace fails the test when the binary reported a data race.
func expectNoRace(t testing.TB, what string, code int, stderr string) {
	t.Helper()
	if code == exitRace || strings.Contains(stderr, "WARNING: DATA RACE") {
		t.Errorf("%s: the race detector reported a race (exit %d):\n%s", what, code, stderr)
	}
}

// mustRun runs an invocation that must exit 0 and returns its stdout.
func mustRun(t *testing.T, inv invocation) string {
	t.Helper()
	r := runCLI(t, inv)
	if r.code != exitOK {
		t.Fatalf("authgw %s: exit %d, stderr %q, stdout %q", strings.Join(inv.args, " "), r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// servingLine is what serve prints once both listeners are up.
var servingLine = regexp.MustCompile(`serving on http://(\S+) \(admin http://(\S+)\)`)

// serveProcess is one running authgw serve.
type serveProcess struct {
	gatewayURL, adminURL string
	// stop asks serve to stop (SIGTERM) and returns at once; exited
	// then receives its exit status.
	stop func()
	// signal sends sig to the process (SIGHUP: reload).
	signal func(sig os.Signal)
	exited <-chan int
	stdout *gatewaytest.LogBuffer
	stderr *gatewaytest.LogBuffer
}

// startServeProcess runs the binary with args and vars as its whole
// environment until it prints the serving line (within limit) and
// returns it running. When the test ends it is stopped and waited for;
// a race it reported, or its log when the test failed, is reported
// then.
func startServeProcess(t *testing.T, name string, args []string, vars map[string]string, limit time.Duration) *serveProcess {
	t.Helper()
	cmd := exec.Command(authgwBinary(t), args...)
	cmd.Env = processEnv(vars)
	p := &serveProcess{stdout: &gatewaytest.LogBuffer{}, stderr: &gatewaytest.LogBuffer{}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	exited := make(chan int, 1)
	p.exited = exited
	go func() {
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		done <- code
		exited <- code
	}()
	var once sync.Once
	p.stop = func() { once.Do(func() { _ = cmd.Process.Signal(syscall.SIGTERM) }) }
	p.signal = func(sig os.Signal) { _ = cmd.Process.Signal(sig) }
	t.Cleanup(func() {
		p.stop()
		select {
		case code := <-done:
			expectNoRace(t, name, code, p.stderr.String())
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop within 40 s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, p.stderr.String())
		}
	})
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if m := servingLine.FindStringSubmatch(p.stdout.String()); m != nil {
			p.gatewayURL, p.adminURL = "http://"+m[1], "http://"+m[2]
			return p
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("%s exited with %d before serving: stdout %q stderr %q", name, code, p.stdout.String(), p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not start: stdout %q stderr %q", name, p.stdout.String(), p.stderr.String())
	return nil
}

// startServe runs authgw serve on free ports with the data directory dir
// and returns its two base URLs, a stop function, the channel its exit
// status arrives on and its standard output.
func startServe(t *testing.T, dir string, extra ...string) (gatewayURL, adminURL string, stop func(), exited <-chan int, stdout *gatewaytest.LogBuffer) {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--cookie-secure", "false"}, extra...)
	p := startServeProcess(t, "serve", args, map[string]string{envDataDir: dir}, 20*time.Second)
	return p.gatewayURL, p.adminURL, p.stop, p.exited, p.stdout
}

// bootstrapFor runs authgw bootstrap with vars (the data directory and
// database) and returns what it printed.
func bootstrapFor(t *testing.T, vars map[string]string) clitest.Creds {
	t.Helper()
	out := mustRun(t, invocation{args: []string{"bootstrap", "--org", "Acme", "--email", clitest.LoginEmail, "--name", "Ada",
		"--password-stdin"}, stdin: clitest.LoginPassword + "\n", vars: vars})
	var creds clitest.Creds
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		t.Fatalf("bootstrap output %q: %v", out, err)
	}
	return creds
}

// serveUsage returns what `authgw serve --help` prints: the settings,
// their defaults and how serve stops are read from it, as an operator
// reads them.
func serveUsage(t *testing.T) string {
	t.Helper()
	return mustRun(t, args("serve", "--help"))
}

// serveSettings returns the names of serve's settings (its flags) as
// serve --help lists them.
func serveSettings(t *testing.T) []string {
	t.Helper()
	usage := serveUsage(t)
	_, list, ok := strings.Cut(usage, "\nSettings")
	if !ok {
		t.Fatalf("serve --help has no Settings section:\n%s", usage)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z][a-z-]*)`).FindAllStringSubmatch(list, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("serve --help lists no setting:\n%s", usage)
	}
	return names
}

// settingEnv is the environment variable of a setting, AUTHGW_<NAME>.
func settingEnv(name string) string {
	return "AUTHGW_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// serveDefault returns the default serve --help gives the setting (the
// text after "(default " in its description).
func serveDefault(t *testing.T, setting string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(setting) + ` [^\n]*(?:\n {20,}[^\n]*)*?\(default ([^;)\s]+)`).FindStringSubmatch(serveUsage(t))
	if m == nil {
		t.Fatalf("serve --help gives --%s no default", setting)
	}
	return m[1]
}

// drainTime is how long serve drains requests in flight when it stops,
// as serve --help says.
func drainTime(t *testing.T) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`draining requests in flight for up to (\d+) s`).FindStringSubmatch(serveUsage(t))
	if m == nil {
		t.Fatal("serve --help does not say how long it drains")
	}
	n, err := time.ParseDuration(m[1] + "s")
	if err != nil {
		t.Fatal(err)
	}
	return n
}
