package accounts

import (
	"errors"
	"net/http"
	"slices"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier/envelope"
	"github.com/prometheus/client_golang/prometheus"
)

// The service's metrics: what its login steps end in, and how long a
// password check waits for a hashing slot (the queue in front of
// argon2id, which is where a burst of logins shows first). Every label
// value comes from a fixed list here, never from a request: a step name
// or factor outside the lists is "other".

// loginStepNames are the step label's values besides "other".
var loginStepNames = []string{StepEmail, StepCode, StepPassword, StepTOTP, StepWebAuthn, StepTOTPEnrol, StepFederated}

// loginFactorNames are the factor label's values besides "none" (no
// factor proved by the step) and "other".
var loginFactorNames = []string{mint.AMRPassword, mint.AMROTP, mint.AMRPasskey, mint.AMRMailedCode, AMRFederated}

// Outcomes of a login step.
const (
	loginNextStep    = "next_step"   // accepted; another step follows
	loginSignedIn    = "signed_in"   // accepted; the session was started
	loginFailed      = "failed"      // 401: a wrong secret, an unknown or banned account
	loginRefused     = "refused"     // 403: not allowed here (code login off, ...)
	loginThrottled   = "throttled"   // 429: regulation's ban or a rate
	loginInvalid     = "invalid"     // any other 4xx: a malformed request
	loginUnavailable = "unavailable" // 5xx: the store, the regulator or the hashing queue failed
)

// hashWaitBuckets are the upper bounds (seconds) of the hashing-slot
// wait: from none at all to many argon2id hashes' worth (one takes tens
// of milliseconds).
var hashWaitBuckets = []float64{0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type serviceMetrics struct {
	loginSteps *prometheus.CounterVec // step, factor, outcome
	hashWait   prometheus.Histogram
}

// newServiceMetrics registers the service's metrics with reg; with no
// reg they are kept but exported nowhere. It fails when reg already
// holds them (two services on one registry).
func newServiceMetrics(reg prometheus.Registerer, hashSlots chan struct{}) (*serviceMetrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &serviceMetrics{
		loginSteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgw_login_steps_total",
			Help: "Login steps answered, by step, the factor the step proved (none when it proved none) and outcome.",
		}, []string{"step", "factor", "outcome"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "authgw_password_hash_wait_seconds",
			Help:    "Time a password hash or check waited for a hashing slot (the argon2id queue).",
			Buckets: hashWaitBuckets,
		}),
	}
	inUse := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "authgw_password_hash_slots_in_use",
		Help: "Password hashes being computed now.",
	}, func() float64 { return float64(len(hashSlots)) })
	slots := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "authgw_password_hash_slots",
		Help: "Password hashes that may be computed at once (MaxConcurrentHashes).",
	})
	slots.Set(float64(cap(hashSlots)))
	for _, c := range []prometheus.Collector{m.loginSteps, m.hashWait, inUse, slots} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// countLogin counts a login step that answered err (nil: accepted).
func (m *serviceMetrics) countLogin(r *request, stepName string, err error) {
	if !slices.Contains(loginStepNames, stepName) {
		stepName = "other"
	}
	factor := "none"
	for _, f := range provedFactors(r) {
		if f == mint.AMRMultiFactor {
			continue
		}
		// The last one recorded is the step's own; the ones before
		// come from the flow code of an earlier step.
		factor = f
		if !slices.Contains(loginFactorNames, f) {
			factor = "other"
		}
	}
	m.loginSteps.WithLabelValues(stepName, factor, loginOutcome(r, err)).Inc()
}

// loginOutcome names the outcome of a step that answered err.
func loginOutcome(r *request, err error) string {
	if err == nil {
		if answered, _ := r.Get(stepAnsweredKey).(bool); answered {
			return loginNextStep
		}
		return loginSignedIn
	}
	var e *envelope.Error
	if !errors.As(err, &e) {
		return loginUnavailable // a 500
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		return loginFailed
	case e.Status == http.StatusForbidden:
		return loginRefused
	case e.Status == http.StatusTooManyRequests:
		return loginThrottled
	case e.Status >= 500:
		return loginUnavailable
	}
	return loginInvalid
}

// stepAnsweredKey marks a request answered with a further login step.
const stepAnsweredKey = "authgw.accounts.step-answered"
