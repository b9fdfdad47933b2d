package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/authgw/authgw/mint"
)

const dischargeUsage = `Usage: authgw discharge --url URL (--token TOKEN | --token-file FILE) --step-up TOKEN|- (--password-file FILE|- | --totp CODE) [--client ID --client-secret-file FILE|-] [--json]

Obtains a discharge of a step-up token's third-party caveat from a running
accounts service (POST /accounts/v1/discharge), proving a fresh factor of
the token's user, and prints it bound to the step-up token, ready to send
as "Authorization: Macaroon <step-up token> <bound discharge>".

The call is authenticated with the caller's POST token of the same session
(--token or --token-file), with the API client's credentials when the
session's tokens are bound to it (--client and --client-secret-file: sent
as "Authorization: Basic ..., Macaroon ..."). The proof is the current
password, read from a file or from standard input (--password-file -,
one line), or a TOTP code (--totp). Neither secret ever appears on the
command line.

The answer is checked before it is printed: the discharge must be of the
step-up token's caveat, and the bound discharge the service returns must
be the one binding it to the token gives (macaroon.v2's Bind, no key
needed); when the service returns none, the discharge is bound here.

Flags:
  --url URL             the service's base URL, e.g. https://auth.example.com
                        (plain http only to a loopback address)
  --token TOKEN         the caller's POST token of the session
  --token-file FILE     a file holding it instead
  --step-up TOKEN       the step-up token whose caveat to discharge
                        (- reads it from standard input)
  --password-file FILE  the current password, from FILE (- for standard input)
  --totp CODE           a current TOTP code instead of the password
  --client ID           the API client the session's tokens are bound to
  --client-secret-file FILE
                        its secret, from FILE (- for standard input)
  --timeout D           how long to wait for the service (default 30s)
  --json                print {"discharge", "boundDischarge", "expiresAt", "caveatId"}

Exit status: 0 with the discharge printed, 1 when the service refuses or
answers something unusable, 2 for a usage error.
`

// dischargeCommand is "authgw discharge".
type dischargeCommand struct {
	url, token, tokenFile, stepUp, passwordFile, totp string
	client, clientSecretFile                          string
	timeout                                           durationFlag
	json                                              bool
}

func (d *dischargeCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("discharge")
	fs.StringVar(&d.url, "url", "", "service base URL")
	fs.StringVar(&d.token, "token", "", "caller's POST token")
	fs.StringVar(&d.tokenFile, "token-file", "", "file with the caller's POST token")
	fs.StringVar(&d.stepUp, "step-up", "", "step-up token")
	fs.StringVar(&d.passwordFile, "password-file", "", "file with the current password")
	fs.StringVar(&d.totp, "totp", "", "TOTP code")
	fs.StringVar(&d.client, "client", "", "API client ID")
	fs.StringVar(&d.clientSecretFile, "client-secret-file", "", "file with the API client's secret")
	fs.Var(&d.timeout, "timeout", "wait for the service")
	fs.BoolVar(&d.json, "json", false, "JSON output")
	return fs
}

// dischargeAnswer is the data of the discharge endpoint's answer.
type dischargeAnswer struct {
	Discharge      string `json:"discharge"`
	BoundDischarge string `json:"boundDischarge,omitempty"`
	ExpiresAt      int64  `json:"expiresAt"`
}

// dischargeOutput is what --json prints.
type dischargeOutput struct {
	Discharge      string    `json:"discharge"`
	BoundDischarge string    `json:"boundDischarge"`
	ExpiresAt      time.Time `json:"expiresAt"`
	CaveatID       string    `json:"caveatId"`
}

var totpCode = regexp.MustCompile(`^[0-9]{6,8}$`)

// run checks the flags, asks the service and prints the bound discharge.
func (d *dischargeCommand) run(c *cli, args []string) error {
	if len(args) != 0 {
		return usagef("unexpected argument %q", args[0])
	}
	endpoint, err := dischargeEndpoint(d.url)
	if err != nil {
		return err
	}
	if (d.token == "") == (d.tokenFile == "") {
		return usagef("give the caller's POST token with one of --token and --token-file")
	}
	if (d.passwordFile == "") == (d.totp == "") {
		return usagef("give the proof with one of --password-file and --totp")
	}
	if d.totp != "" && !totpCode.MatchString(d.totp) {
		return usagef("--totp wants the 6 to 8 digits the authenticator shows")
	}
	if d.stepUp == "" {
		return usagef("missing --step-up: the step-up token whose caveat to discharge")
	}
	if (d.client == "") != (d.clientSecretFile == "") {
		return usagef("--client and --client-secret-file go together")
	}
	stdin := 0
	for _, f := range []string{d.stepUp, d.passwordFile, d.clientSecretFile} {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return usagef("only one of --step-up, --password-file and --client-secret-file may be - (standard input)")
	}
	if d.timeout.set && d.timeout.d <= 0 {
		return usagef("--timeout must be positive")
	}
	timeout := 30 * time.Second
	if d.timeout.set {
		timeout = d.timeout.d
	}
	stepUp, err := c.readTokenArg(d.stepUp)
	if err != nil {
		return err
	}
	cid, ok := mint.StepUpCaveatID(stepUp)
	if !ok {
		return errors.New("--step-up: not a step-up token (no third-party caveat)")
	}
	caller := strings.TrimSpace(d.token)
	if d.tokenFile != "" {
		b, err := os.ReadFile(d.tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		caller = strings.TrimSpace(string(b))
	}
	if caller == "" || strings.ContainsAny(caller, " \t\r\n") {
		return usagef("the caller's POST token is empty or holds white space")
	}
	body := map[string]string{"token": stepUp}
	if d.totp != "" {
		body["totp"] = d.totp
	} else {
		pw, err := readSecretLine(c, d.passwordFile, "--password-file")
		if err != nil {
			return err
		}
		body["currentPassword"] = pw
	}
	authorization := "Macaroon " + caller
	if d.client != "" {
		secret, err := readSecretLine(c, d.clientSecretFile, "--client-secret-file")
		if err != nil {
			return err
		}
		basic := base64.StdEncoding.EncodeToString([]byte(d.client + ":" + secret))
		authorization = "Basic " + basic + ", " + authorization
	}
	answer, err := postDischarge(endpoint, authorization, body, timeout)
	if err != nil {
		return err
	}
	out, err := checkDischargeAnswer(stepUp, cid, answer)
	if err != nil {
		return err
	}
	if d.json {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
		return nil
	}
	fmt.Fprintln(c.stdout, out.BoundDischarge)
	return nil
}

// dischargeEndpoint checks the base URL and returns the endpoint's. Plain
// http is refused but to a loopback address: the request carries a
// password or a code.
func dischargeEndpoint(base string) (string, error) {
	if base == "" {
		return "", usagef("missing --url: the accounts service's base URL")
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", usagef("--url %q: want https://host[:port][/prefix]", base)
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", usagef("--url: plain http sends the password in the clear: use https (http only to a loopback address)")
		}
	}
	path := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(path, mint.DischargePath) {
		path += mint.DischargePath
	}
	u.Path = path
	return u.String(), nil
}

// readSecretLine reads a secret: the first line of a file, or of
// standard input for "-", without its line end. flagName names the flag
// in errors.
func readSecretLine(c *cli, name, flagName string) (string, error) {
	var r io.Reader = c.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flagName, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("%s: the first line is empty", flagName)
	}
	return line, nil
}

// postDischarge sends the request and returns the answer's data, or the
// service's refusal as an error (its status, code and detail, which hold
// no secret).
func postDischarge(endpoint, authorization string, body map[string]string, timeout time.Duration) (dischargeAnswer, error) {
	payload, err := json.Marshal(map[string]any{"data": body})
	if err != nil {
		return dischargeAnswer{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return dischargeAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", authorization)
	client := &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		// The error names the URL, never the body.
		return dischargeAnswer{}, fmt.Errorf("POST %s: %w", endpoint, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return dischargeAnswer{}, fmt.Errorf("reading the answer: %w", err)
	}
	var env struct {
		T     string          `json:"t"`
		Data  json.RawMessage `json:"data"`
		Error *struct {
			Status       int    `json:"status"`
			Code         string `json:"code"`
			Detail       string `json:"detail"`
			Obstructions []struct {
				Text string `json:"text"`
			} `json:"obstructions"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return dischargeAnswer{}, fmt.Errorf("the service answered %s, not a JSON envelope", resp.Status)
	}
	if resp.StatusCode/100 != 2 || env.T == "error" {
		if e := env.Error; e != nil {
			msg := fmt.Sprintf("the service refused: %d %s: %s", resp.StatusCode, e.Code, e.Detail)
			for _, o := range e.Obstructions {
				msg += " " + o.Text
			}
			return dischargeAnswer{}, errors.New(msg)
		}
		return dischargeAnswer{}, fmt.Errorf("the service refused: %s", resp.Status)
	}
	var a dischargeAnswer
	if env.T != "single" || json.Unmarshal(env.Data, &a) != nil || a.Discharge == "" {
		return dischargeAnswer{}, errors.New(`the service's answer is not {"t":"single","data":{"discharge":...}}`)
	}
	return a, nil
}

// checkDischargeAnswer checks that the answer discharges cid, binds it to
// stepUp (or checks the service's binding) and returns what to print.
func checkDischargeAnswer(stepUp string, cid []byte, a dischargeAnswer) (dischargeOutput, error) {
	d, err := mint.Decode(a.Discharge)
	if err != nil {
		return dischargeOutput{}, fmt.Errorf("the service's discharge: %w", err)
	}
	if string(d.Id()) != string(cid) {
		return dischargeOutput{}, errors.New("the service's discharge is of another caveat than the step-up token's")
	}
	bound, err := mint.BindDischarge(stepUp, a.Discharge)
	if err != nil {
		return dischargeOutput{}, err
	}
	if a.BoundDischarge != "" && a.BoundDischarge != bound {
		return dischargeOutput{}, errors.New("the service's boundDischarge is not the discharge bound to the step-up token")
	}
	out := dischargeOutput{Discharge: a.Discharge, BoundDischarge: bound, CaveatID: base64.RawURLEncoding.EncodeToString(cid)}
	if a.ExpiresAt > 0 {
		out.ExpiresAt = time.UnixMilli(a.ExpiresAt).UTC()
	}
	return out, nil
}
