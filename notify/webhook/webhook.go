// Package webhook is the connector of a webhook system (issue #15): it
// POSTs the work order to the system's URL as JSON signed per the
// Standard Webhooks specification (webhook-id, webhook-timestamp,
// webhook-signature: v1,<base64 HMAC-SHA256>), and reads the answer.
// The system accepts with a 2xx and reports later through
// POST /api/v1/tasks/{task_id}, or reports at once in the 2xx body.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Limits of one delivery attempt.
const (
	// MaxAnswer bounds how much of the system's answer is read.
	MaxAnswer = 1 << 20
	// AttemptTimeout bounds one attempt, connection to last byte.
	AttemptTimeout = 10 * time.Second
	// snippet is how much of a refusal's body goes into the error.
	snippet = 200
)

// Runner is the dsr.TaskRunner of one webhook system. It is safe for
// concurrent use.
type Runner struct {
	system string
	url    string
	signer *standardwebhooks.Webhook
	client *http.Client
	// Now gives the webhook-timestamp. Receivers compare it with their own
	// wall clock (the library allows five minutes), so it must be real
	// time, not the engine's fake test clock; tests of stale timestamps
	// set it.
	Now func() time.Time
}

// New returns the runner of sys, signing with secret (whsec_ followed by
// base64, as the Standard Webhooks libraries generate) and sending through
// a copy of client (nil: a plain client). The copy never follows
// redirects and has a per-attempt timeout of AttemptTimeout unless client
// sets a shorter one. Errors: EINVALID when the URL is not an absolute
// http(s) URL or the secret is missing or not base64 (the secret itself is
// never quoted).
func New(sys dsr.System, secret string, client *http.Client) (*Runner, error) {
	u, err := url.Parse(sys.Connector.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, dsr.InvalidField("systems."+sys.Name+".connector.url", "must be an absolute http or https URL")
	}
	if u.User != nil {
		return nil, dsr.InvalidField("systems."+sys.Name+".connector.url", "must not hold a user or password (the signature authenticates)")
	}
	secretField := "systems." + sys.Name + ".secret"
	if strings.TrimPrefix(secret, "whsec_") == "" {
		return nil, dsr.InvalidField(secretField, "is missing")
	}
	signer, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, dsr.InvalidField(secretField, "is not whsec_ followed by base64")
	}
	c := &http.Client{}
	if client != nil {
		*c = *client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout <= 0 || c.Timeout > AttemptTimeout {
		c.Timeout = AttemptTimeout
	}
	return &Runner{system: sys.Name, url: u.String(), signer: signer, client: c, Now: time.Now}, nil
}

// Payload is the JSON body a system receives.
type Payload struct {
	TaskID     string            `json:"task_id"`
	RequestID  string            `json:"request_id"`
	Kind       dsr.Kind          `json:"kind"`
	Regime     string            `json:"regime"`
	Due        dsr.Date          `json:"due"`
	Identity   Identity          `json:"identity"`
	Correction map[string]string `json:"correction,omitempty"`
	// Callback is the path, on DSR Desk's public base URL, where the
	// system reports: POST with its bearer token.
	Callback string `json:"callback"`
}

// Identity is who the work is about.
type Identity struct {
	Email       string `json:"email"`
	EmailSHA256 string `json:"email_sha256"` // dsr.EmailSHA256
}

// MessageID is the webhook-id of w's delivery: the same on every attempt
// for one task, so a receiver can drop a delivery it has already handled.
func MessageID(w dsr.Work) string { return "msg_dsrtask_" + w.TaskID }

// CallbackPath is the relative path a system reports w's result to.
func CallbackPath(w dsr.Work) string { return "/api/v1/tasks/" + url.PathEscape(w.TaskID) }

// Run delivers w once. A 2xx answer is acceptance: Report{Status:
// TaskWaiting}, unless its body is a report (see parseAnswer), which is
// then returned. Errors (the job retries): the system unreachable or
// timing out, a 5xx, a 4xx ("the system refused the request: 400 Bad
// Request: <start of body>"), a 3xx (redirects are never followed), an
// answer over MaxAnswer, or a body that claims to be a report and is not
// a valid one.
func (r *Runner) Run(ctx context.Context, w dsr.Work) (dsr.Report, error) {
	if w.TaskID == "" {
		return dsr.Report{}, errors.New("webhook: the work order has no task id")
	}
	body, err := json.Marshal(Payload{
		TaskID: w.TaskID, RequestID: w.RequestID, Kind: w.Kind, Regime: w.Regime, Due: w.Due,
		Identity:   Identity{Email: w.Email, EmailSHA256: dsr.EmailSHA256(w.Email)},
		Correction: w.Correction,
		Callback:   CallbackPath(w),
	})
	if err != nil {
		return dsr.Report{}, fmt.Errorf("webhook: encode: %w", err)
	}
	id, now := MessageID(w), r.Now()
	sig, err := r.signer.Sign(id, now, body)
	if err != nil {
		return dsr.Report{}, fmt.Errorf("webhook: sign: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.client.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return dsr.Report{}, fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "DSR-Desk-webhook/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := r.client.Do(req)
	if err != nil {
		return dsr.Report{}, fmt.Errorf("the system could not be reached: %w", r.unwrapURLError(err))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return dsr.Report{}, fmt.Errorf("the system's answer broke off: %w", err)
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if len(answer) > MaxAnswer {
			return dsr.Report{}, fmt.Errorf("the system's answer is larger than %d bytes; send large data through the callback", MaxAnswer)
		}
		return parseAnswer(answer)
	case code >= 300 && code < 400:
		return dsr.Report{}, fmt.Errorf("the system answered with a redirect (%s to %q); redirects are not followed: configure the final URL", resp.Status, resp.Header.Get("Location"))
	case code >= 400 && code < 500:
		return dsr.Report{}, fmt.Errorf("the system refused the request: %s%s", resp.Status, excerpt(answer, w))
	default:
		return dsr.Report{}, fmt.Errorf("the system failed: %s%s", resp.Status, excerpt(answer, w))
	}
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the
// method and URL, keeping the cause (timeout, connection refused).
func (r *Runner) unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within %s", r.client.Timeout)
		}
		return ue.Err
	}
	return err
}

// excerpt is ": " and the first bytes of a body as readable one-line
// text, or "" for an empty body. The error becomes the task's last error,
// so the requester's address and its hash, which a system may echo, are
// cut out first.
func excerpt(b []byte, w dsr.Work) string {
	s := string(b)
	for _, v := range []string{w.Email, strings.TrimSpace(w.Email), dsr.EmailSHA256(w.Email)} {
		if v != "" {
			s = regexp.MustCompile("(?i)"+regexp.QuoteMeta(v)).ReplaceAllLiteralString(s, "[email]")
		}
	}
	if len(s) > snippet {
		s = s[:snippet]
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)), " ")
	if s == "" {
		return ""
	}
	return ": " + s
}

// Answer is a report in a 2xx body, the same shape as the callback:
// {"status": "done", "count": 2, "data": {"section": [rows]}}.
type Answer struct {
	Status *dsr.TaskStatus             `json:"status"`
	Basis  string                      `json:"basis"`
	Count  *int                        `json:"count"`
	Note   string                      `json:"note"`
	Data   map[string][]map[string]any `json:"data"`
}

// answerStatuses are the statuses a system may give in its answer.
var answerStatuses = map[dsr.TaskStatus]bool{
	dsr.TaskWaiting: true, dsr.TaskDone: true, dsr.TaskNotFound: true, dsr.TaskKept: true, dsr.TaskFailed: true,
}

// parseAnswer reads a 2xx body. A body that is not a JSON object with a
// "status" (empty, text, {"ok": true}) is plain acceptance: TaskWaiting.
// A JSON object with a "status" is the system's report: its status must
// be waiting, done, not_found, kept (with a basis) or failed (the system
// gave up; its note says why); "data" becomes the sections (sorted by
// name, columns the sorted union of the rows' keys) and a missing count is
// the number of rows. Error: a "status" that is not one of those, or kept
// without a basis.
func parseAnswer(body []byte) (dsr.Report, error) {
	var a Answer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil || a.Status == nil {
		return dsr.Report{Status: dsr.TaskWaiting}, nil
	}
	st := *a.Status
	if !answerStatuses[st] {
		return dsr.Report{}, fmt.Errorf("the system's answer has an unknown status %q (want done, not_found, kept, failed or waiting)", excerptString(string(st)))
	}
	if st == dsr.TaskKept && strings.TrimSpace(a.Basis) == "" {
		return dsr.Report{}, errors.New(`the system's answer says "kept" without a "basis"`)
	}
	rep := dsr.Report{Status: st, Basis: a.Basis, Note: a.Note}
	names := make([]string, 0, len(a.Data))
	for n := range a.Data {
		names = append(names, n)
	}
	sort.Strings(names)
	rows := 0
	for _, n := range names {
		rep.Sections = append(rep.Sections, section(n, a.Data[n]))
		rows += len(a.Data[n])
	}
	rep.Count = rows
	if a.Count != nil {
		rep.Count = *a.Count
	}
	return rep, nil
}

// section is the export section of rows; no rows is an empty list, not null.
func section(name string, rows []map[string]any) dsr.Section {
	if rows == nil {
		rows = []map[string]any{}
	}
	return dsr.NewSection(name, rows)
}

func excerptString(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.ToValidUTF8(s, "")
}
