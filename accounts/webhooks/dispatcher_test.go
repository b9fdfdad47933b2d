package webhooks_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/accounts/webhooks"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/verifier/nodetest"
)

const receiverDir = "../../testdata/webhooks"

// receiverLine is one line the node receiver writes.
type receiverLine struct {
	Port     int    `json:"port"`
	Event    string `json:"event"`
	Path     string `json:"path"`
	ID       string `json:"id"`
	Verified bool   `json:"verified"`
	Type     string `json:"type"`
	Error    string `json:"error"`
}

// receiver is the node receiver (testdata/webhooks/receiver.js), which
// checks every delivery with the npm standardwebhooks package.
type receiver struct {
	base  string
	lines chan receiverLine
}

// startReceiver starts the receiver with the subscription secret shown
// (whsec_...), until the test ends.
func startReceiver(t *testing.T, shown string) *receiver {
	t.Helper()
	node, _ := nodetest.Setup(t, receiverDir, "standardwebhooks", "receiver.js", "package-lock.json")
	cmd := exec.Command(node, "receiver.js")
	cmd.Dir = receiverDir
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+shown)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the receiver exits when its input ends
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	r := &receiver{lines: make(chan receiverLine, 100)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l receiverLine
			if err := json.Unmarshal(sc.Bytes(), &l); err == nil {
				r.lines <- l
			}
		}
	}()
	first := r.next(t)
	if first.Port == 0 {
		t.Fatalf("receiver's first line: %+v", first)
	}
	r.base = "http://127.0.0.1:" + strconv.Itoa(first.Port)
	return r
}

// next is the receiver's next line; it fails the test after 10 s.
func (r *receiver) next(t *testing.T) receiverLine {
	t.Helper()
	select {
	case l := <-r.lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver reported nothing in 10 s")
		return receiverLine{}
	}
}

// quiet fails the test when the receiver has reported a line.
func (r *receiver) quiet(t *testing.T) {
	t.Helper()
	select {
	case l := <-r.lines:
		t.Fatalf("unexpected request at the receiver: %+v", l)
	default:
	}
}

// release answers the requests the receiver holds.
func (r *receiver) release(t *testing.T) {
	t.Helper()
	resp, err := http.Get(r.base + "/release")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clock is the real time plus an offset the test moves forward, so that
// a retry falls due without sleeping while the receiver, which checks
// the timestamp against its own clock within 5 minutes, still accepts
// it.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// newSealer is a TOTP sealer with a fixed key ring.
func newSealer(t *testing.T) *totp.TOTP {
	t.Helper()
	s, err := totp.New(totp.Config{Issuer: "authgw", Keys: []totp.Key{{ID: "k1", Secret: make([]byte, totp.KeySize)}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is a database with one subscription, and a sealer.
type fixture struct {
	d      *db.DB
	sealer *totp.TOTP
	clock  *clock
	subID  string
	shown  string
	key    []byte
	// keep keeps the earlier subscriptions when subscribe makes another.
	keep bool
	// lease is the dispatchers' lease; 0 for 2 s.
	lease time.Duration
	// timeout is the dispatchers' delivery timeout; 0 for 500 ms.
	timeout time.Duration
}

// newFixture makes a secret; subscribe then stores the subscription.
func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	key, shown, err := webhooks.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{d: d, sealer: newSealer(t), clock: &clock{}, shown: shown, key: key}
}

// subscribe stores an active subscription of url to events, created
// now, in place of the one subscribe made before unless keep.
func (f *fixture) subscribe(t *testing.T, url string, events ...string) string {
	t.Helper()
	if f.subID != "" && !f.keep {
		if err := f.d.DeleteWebhookSubscription(t.Context(), f.subID); err != nil {
			t.Fatal(err)
		}
	}
	id := db.NewID(f.clock.now(), rand.Reader)
	sealed, err := webhooks.SealSecret(f.sealer, id, f.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.d.CreateWebhookSubscription(t.Context(), db.WebhookSubscription{ID: id, URL: url, Events: events,
		SecretCiphertext: sealed, Active: true, CreatedMs: f.clock.now().UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	f.subID = id
	return id
}

// event records an audit event of typ now.
func (f *fixture) event(t *testing.T, typ string) string {
	t.Helper()
	id := db.NewID(f.clock.now(), rand.Reader)
	if err := f.d.InsertAuditEvent(t.Context(), db.AuditEvent{ID: id, TimeMs: f.clock.now().UnixMilli(), Type: typ, Outcome: db.AuditFailure,
		Reason: "bad-password", SubjectUserID: "0190a000-0000-7000-8000-000000000001", IP: "203.0.113.7", Data: map[string]string{"factor": "password"}}); err != nil {
		t.Fatal(err)
	}
	return id
}

// dispatcher is a Dispatcher on store with the test's short durations.
func (f *fixture) dispatcher(t *testing.T, store webhooks.Store) *webhooks.Dispatcher {
	t.Helper()
	lease := f.lease
	if lease == 0 {
		lease = 2 * time.Second
	}
	timeout := f.timeout
	if timeout == 0 {
		timeout = 500 * time.Millisecond
	}
	d, err := webhooks.New(webhooks.Config{Store: store, Sealer: f.sealer, Timeout: timeout, Lease: lease,
		Poll: 10 * time.Millisecond, Backoff: time.Second, MaxBackoff: 10 * time.Second, MaxAttempts: 3, Now: f.clock.now,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// delivery is the fixture subscription's only delivery.
func (f *fixture) delivery(t *testing.T) db.WebhookDelivery {
	t.Helper()
	list, err := f.d.ListWebhookDeliveries(t.Context(), f.subID, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("deliveries: %+v, %v", list, err)
	}
	return list[0]
}

// TestDeliveriesVerifiedByStandardWebhooks runs the dispatcher against a
// receiver that verifies each request with the npm standardwebhooks
// package: a 2xx delivers; a 500 is retried with the same webhook-id; a
// receiver that is down or too slow is retried with backoff until the
// delivery is dead, which a retry by hand queues again; on both
// databases.
func TestDeliveriesVerifiedByStandardWebhooks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		recv := startReceiver(t, f.shown)
		ctx := t.Context()

		t.Run("given a receiver that answers 200, when an event of its type happens, expect one verified delivery", func(t *testing.T) {
			f.subscribe(t, recv.base+"/ok", "login.failed")
			f.event(t, "user.created") // not subscribed
			eventID := f.event(t, "login.failed")
			disp := f.dispatcher(t, d)
			if !disp.Round(ctx) {
				t.Fatal("the round found nothing to do")
			}
			got := recv.next(t)
			if !got.Verified || got.Type != "login.failed" || got.Error != "" {
				t.Fatalf("receiver: %+v", got)
			}
			dl := f.delivery(t)
			if dl.Status != db.DeliveryDelivered || dl.ID != got.ID || dl.EventID != eventID || dl.Attempts != 1 || dl.LastStatus != 200 {
				t.Errorf("delivery: %+v", dl)
			}
			var body struct {
				Type string
				Data map[string]any
			}
			if err := json.Unmarshal([]byte(dl.Body), &body); err != nil || body.Data["eventId"] != eventID || body.Data["ip"] != "203.0.113.7" {
				t.Errorf("body %s: %v", dl.Body, err)
			}
			disp.Round(ctx)
			recv.quiet(t)
		})

		t.Run("given a receiver that answers 500 then 200, expect a retry after the backoff with the same webhook-id", func(t *testing.T) {
			f.subscribe(t, recv.base+"/flaky", "*")
			f.event(t, "password.reset")
			disp := f.dispatcher(t, d)
			disp.Round(ctx)
			first := recv.next(t)
			dl := f.delivery(t)
			if !first.Verified || dl.Status != db.DeliveryPending || dl.LastStatus != 500 || dl.LastError != "HTTP 500" {
				t.Fatalf("after the 500: %+v, %+v", first, dl)
			}
			if wait := time.Duration(dl.NextAttemptMs-dl.UpdatedMs) * time.Millisecond; wait < 800*time.Millisecond || wait > 1200*time.Millisecond {
				t.Errorf("first backoff %s, want 1 s ± 20%%", wait)
			}
			disp.Round(ctx) // not due yet
			recv.quiet(t)
			f.clock.advance(1300 * time.Millisecond)
			disp.Round(ctx)
			second := recv.next(t)
			if !second.Verified || second.ID != first.ID {
				t.Fatalf("retry: %+v, first %+v", second, first)
			}
			if dl := f.delivery(t); dl.Status != db.DeliveryDelivered || dl.Attempts != 2 {
				t.Errorf("after the retry: %+v", dl)
			}
		})

		t.Run("given a receiver that is down, expect retries until dead, then a retry by hand queues it again", func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			down := "http://" + l.Addr().String() + "/"
			l.Close()
			f.subscribe(t, down, "*")
			f.event(t, "session.revoked")
			disp := f.dispatcher(t, d)
			for i := range 3 {
				disp.Round(ctx)
				dl := f.delivery(t)
				if dl.Attempts != i+1 || !strings.Contains(dl.LastError, "refused") || dl.LastStatus != 0 {
					t.Fatalf("attempt %d: %+v", i+1, dl)
				}
				f.clock.advance(15 * time.Second) // past the 10 s cap, +20%
			}
			if dl := f.delivery(t); dl.Status != db.DeliveryDead {
				t.Fatalf("after 3 attempts: %+v", dl)
			}
			disp.Round(ctx)
			if dl := f.delivery(t); dl.Attempts != 3 {
				t.Errorf("a dead delivery was tried again: %+v", dl)
			}
			if err := d.RetryWebhookDelivery(ctx, f.subID, f.delivery(t).ID, f.clock.now().UnixMilli()); err != nil {
				t.Fatal(err)
			}
			disp.Round(ctx)
			if dl := f.delivery(t); dl.Status != db.DeliveryPending || dl.Attempts != 1 {
				t.Errorf("after the retry by hand: %+v", dl)
			}
		})

		t.Run("given a receiver slower than the timeout, expect the request abandoned and retried later", func(t *testing.T) {
			f.subscribe(t, recv.base+"/hold", "*")
			f.event(t, "role.added")
			disp := f.dispatcher(t, d)
			disp.Round(ctx)
			got := recv.next(t)
			if !got.Verified {
				t.Fatalf("receiver: %+v", got)
			}
			if aborted := recv.next(t); aborted.Event != "aborted" || aborted.ID != got.ID {
				t.Fatalf("want the request abandoned, got %+v", aborted)
			}
			if dl := f.delivery(t); dl.Status != db.DeliveryPending || !strings.HasPrefix(dl.LastError, "timeout") {
				t.Errorf("after the timeout: %+v", dl)
			}
		})
	})
}

// TestDispatcherKilledMidDelivery: two dispatchers on one MariaDB
// database. The first claims a delivery and dies (its database
// connections gone, its request cut by its timeout) while the receiver
// holds the request; while its lease holds, the second sends nothing;
// once the lease expired, the second delivers with the same webhook-id.
func TestDispatcherKilledMidDelivery(t *testing.T) {
	dsn := dbtest.MariaDBDSN(t)
	open := func() *db.DB {
		d, err := db.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	setup, first, second := open(), open(), open()
	if _, err := setup.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, setup)
	// A lease long enough that no slow machine sees it expire before
	// the test moves the clock past it.
	f.lease = time.Minute
	recv := startReceiver(t, f.shown)
	f.subscribe(t, recv.base+"/hold", "*")
	f.event(t, "login.succeeded")

	a, b := f.dispatcher(t, first), f.dispatcher(t, second)
	doneA := make(chan struct{})
	go func() { a.Round(t.Context()); close(doneA) }()
	held := recv.next(t)
	if !held.Verified || held.Event != "request" {
		t.Fatalf("first request: %+v", held)
	}
	if b.Round(t.Context()) {
		t.Fatal("the second dispatcher found work while the first held the lease")
	}
	first.Close() // the first dispatcher dies: it can record nothing
	if aborted := recv.next(t); aborted.Event != "aborted" {
		t.Fatalf("want the first request cut, got %+v", aborted)
	}
	<-doneA
	if b.Round(t.Context()) {
		t.Fatal("the second dispatcher claimed the delivery before the lease expired")
	}
	recv.quiet(t)
	f.clock.advance(f.lease)
	doneB := make(chan struct{})
	go func() { b.Round(t.Context()); close(doneB) }()
	again := recv.next(t)
	if !again.Verified || again.ID != held.ID {
		t.Fatalf("redelivery %+v, first %+v", again, held)
	}
	recv.release(t)
	<-doneB
	if dl := f.delivery(t); dl.Status != db.DeliveryDelivered || dl.Attempts != 2 {
		t.Errorf("after the redelivery: %+v", dl)
	}
	recv.quiet(t)
}

// TestGracefulStop: a dispatcher stopped while a request is in flight
// lets it end and records the answer, so a restart sends nothing again.
func TestGracefulStop(t *testing.T) {
	d := dbtest.SQLite(t)
	f := newFixture(t, d)
	f.lease, f.timeout = time.Minute, 10*time.Second // the release comes well within
	recv := startReceiver(t, f.shown)
	f.subscribe(t, recv.base+"/hold", "*")
	f.event(t, "session.revoked")
	disp := f.dispatcher(t, d)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { disp.Run(ctx); close(done) }()
	if got := recv.next(t); !got.Verified {
		t.Fatalf("receiver: %+v", got)
	}
	stop()
	recv.release(t)
	<-done
	if dl := f.delivery(t); dl.Status != db.DeliveryDelivered || dl.Attempts != 1 || dl.LeaseOwner != "" {
		t.Errorf("after a stop mid-request: %+v", dl)
	}
}

// TestFanOut: an event goes to the active subscriptions of its type that
// existed when it happened, once, however many dispatchers fan it out.
func TestFanOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.keep = true
		ctx := t.Context()
		early := f.event(t, "user.created")
		f.clock.advance(time.Second)
		all := f.subscribe(t, "https://a.example/", "*")
		users := f.subscribe(t, "https://b.example/", "user.created")
		paused := f.subscribe(t, "https://c.example/", "*")
		p, _ := d.GetWebhookSubscription(ctx, paused)
		p.Active = false
		if err := d.UpdateWebhookSubscription(ctx, p); err != nil {
			t.Fatal(err)
		}
		f.clock.advance(time.Second)
		f.event(t, "user.created")
		f.event(t, "login.failed")
		one, two := f.dispatcher(t, d), f.dispatcher(t, d)
		if n, err := one.FanOut(ctx); err != nil || n != 3 {
			t.Fatalf("fan-out: %d, %v", n, err)
		}
		if n, err := two.FanOut(ctx); err != nil || n != 0 {
			t.Fatalf("second fan-out: %d, %v", n, err)
		}
		for _, c := range []struct {
			sub  string
			want int
		}{{all, 2}, {users, 1}, {paused, 0}} {
			list, err := d.ListWebhookDeliveries(ctx, c.sub, "", 10)
			if err != nil || len(list) != c.want {
				t.Errorf("subscription %s: %d deliveries, want %d (%v)", c.sub, len(list), c.want, err)
			}
			for _, dl := range list {
				if dl.EventID == early {
					t.Errorf("an event older than the subscription was queued: %+v", dl)
				}
			}
		}
	})
}

// TestSign checks Sign against the Standard Webhooks specification's
// example.
func TestSign(t *testing.T) {
	key := mustBase64(t, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	got := webhooks.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

// TestCheckURL: https anywhere, http only to loopback unless allowed;
// never link-local or metadata addresses, credentials or fragments.
func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		name      string
		givenURL  string
		allowHTTP bool
		expectOK  bool
	}{
		{"https", "https://hooks.example.com/in", false, true},
		{"http to loopback", "http://127.0.0.1:8080/in", false, true},
		{"http to localhost", "http://localhost/in", false, true},
		{"http to IPv6 loopback", "http://[::1]/in", false, true},
		{"http elsewhere", "http://hooks.example.com/in", false, false},
		{"http elsewhere, allowed", "http://hooks.example.com/in", true, true},
		{"metadata service", "http://169.254.169.254/latest/meta-data/", true, false},
		{"metadata service over https", "https://169.254.169.254/", false, false},
		{"IPv6 link-local", "https://[fe80::1]/", false, false},
		{"IPv6 metadata", "https://[fd00:ec2::254]/", false, false},
		{"IPv4-mapped metadata", "https://[::ffff:169.254.169.254]/", false, false},
		{"unspecified", "https://0.0.0.0/", false, false},
		{"credentials", "https://user:pw@hooks.example.com/", false, false},
		{"fragment", "https://hooks.example.com/#x", false, false},
		{"ftp", "ftp://hooks.example.com/", false, false},
		{"relative", "/in", false, false},
		{"empty", "", false, false},
		{"bad port", "https://hooks.example.com:99999/", false, false},
		{"too long", "https://hooks.example.com/" + strings.Repeat("a", 2048), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := webhooks.CheckURL(c.givenURL, c.allowHTTP)
			if (err == nil) != c.expectOK {
				t.Fatalf("CheckURL(%q) = %v, want ok %v", c.givenURL, err, c.expectOK)
			}
			if err != nil && !errors.Is(err, webhooks.ErrInvalidSubscription) {
				t.Errorf("error %v does not wrap ErrInvalidSubscription", err)
			}
		})
	}
}

// TestDialerRefusesMetadata: the dialer refuses a link-local address
// once resolved, whatever URL led there.
func TestDialerRefusesMetadata(t *testing.T) {
	_, err := webhooks.Dialer(time.Second).DialContext(t.Context(), "tcp", "169.254.169.254:80")
	if !errors.Is(err, webhooks.ErrForbiddenAddress) {
		t.Errorf("dial 169.254.169.254: %v, want ErrForbiddenAddress", err)
	}
}

// TestCheckEvents: types the audit log records (audit.Types) or *, none
// twice; a misspelt type, which would never fire, is refused.
func TestCheckEvents(t *testing.T) {
	for _, c := range []struct {
		name        string
		givenEvents []string
		expectOK    bool
	}{
		{"types", []string{"user.created", "login.failed"}, true},
		{"all", []string{"*"}, true},
		{"underscore", []string{"client.secret_rotated"}, true},
		{"misspelt", []string{"login.faild"}, false},
		{"the right shape, not recorded", []string{"oidc.consent_granted"}, false},
		{"none", nil, false},
		{"upper case", []string{"User.Created"}, false},
		{"no dot", []string{"login"}, false},
		{"twice", []string{"login.failed", "login.failed"}, false},
		{"wildcard prefix", []string{"login.*"}, false},
		{"too many", strings.Split(strings.Repeat("a.b,", 65), ",")[:65], false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := webhooks.CheckEvents(c.givenEvents)
			if (err == nil) != c.expectOK {
				t.Errorf("CheckEvents(%q) = %v, want ok %v", c.givenEvents, err, c.expectOK)
			}
		})
	}
}
