package equinix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/equinix/equinix-sdk-go/services/metalv1"
)

// client is the Metal API with the retries, timeouts and error messages
// the SDK leaves to its callers.
type client struct {
	api     *metalv1.APIClient
	project string
	token   Token
	timing  Timing
}

func newClient(c Config) *client {
	cfg := metalv1.NewConfiguration()
	cfg.Servers = metalv1.ServerConfigurations{{URL: strings.TrimRight(c.APIURL, "/")}}
	cfg.UserAgent = "zt-lab " + cfg.UserAgent
	cfg.HTTPClient = &http.Client{} // per-call deadlines come from the context
	if c.Token != "" {
		cfg.AddDefaultHeader("X-Auth-Token", string(c.Token))
	}
	return &client{api: metalv1.NewAPIClient(cfg), project: c.Project, token: c.Token, timing: c.Timing.withDefaults()}
}

// APIError is an answer of the Metal API that is not a success.
type APIError struct {
	Op      string // what zt-lab asked: "create device consul00"
	Status  int
	Message string // what the API said about it
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: Equinix Metal answered %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		s += " (check " + EnvToken + ")"
	case http.StatusForbidden:
		s += " (the token has no right to this project or action)"
	case http.StatusNotFound:
		s += " (check the project id)"
	}
	return s
}

// statusOf is the HTTP status of an API error, 0 for anything else.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// apiError turns what the SDK returned into one line the user can act on.
func apiError(op string, resp *http.Response, err error) error {
	if resp == nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var body []byte
	var oe *metalv1.GenericOpenAPIError
	if errors.As(err, &oe) {
		body = oe.Body()
	}
	if resp.StatusCode < 300 {
		// A success the SDK could not decode.
		return fmt.Errorf("%s: unexpected answer from the Metal API: %v", op, err)
	}
	return &APIError{Op: op, Status: resp.StatusCode, Message: apiMessage(body)}
}

// apiMessage pulls the API's own words out of an error body: Metal sends
// {"errors": [...]} or {"error": "..."}; anything else is shown as text
// when it is short and not a web page.
func apiMessage(body []byte) string {
	var m struct {
		Error  string   `json:"error"`
		Errors []string `json:"errors"`
	}
	var parts []string
	if json.Unmarshal(body, &m) == nil {
		parts = append(parts, m.Errors...)
		if m.Error != "" {
			parts = append(parts, m.Error)
		}
	} else if t := strings.TrimSpace(string(body)); t != "" && !strings.HasPrefix(t, "<") {
		parts = append(parts, t)
	}
	s := strings.Join(strings.Fields(strings.Join(parts, "; ")), " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// redact makes sure an error never carries the token, whatever a server
// or a library put into it.
func (c *client) redact(err error) error {
	if err == nil || len(c.token) < 6 || !strings.Contains(err.Error(), string(c.token)) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), string(c.token), "[redacted]"))
}

// call runs one API call, again after a 429 (waiting as long as
// Retry-After says) and after a 5xx or a lost reply (with backoff). Only
// calls that can safely be repeated go through call; creates go through
// create.
func call[T any](ctx context.Context, c *client, op string, f func(context.Context) (T, *http.Response, error)) (T, error) {
	var zero T
	for attempt := 1; ; attempt++ {
		v, resp, err := once(ctx, c, f)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return zero, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		wait, again := c.retry(resp, attempt)
		if !again {
			return zero, apiError(op, resp, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return zero, fmt.Errorf("%s: %w", op, err)
		}
	}
}

// create runs a call that makes something. A 5xx or a reply that never
// came leaves open whether the server made it, so before trying again it
// asks find; a thing found is adopted rather than made twice. unsure
// reports, on failure, that the thing may exist all the same.
func create[T any](ctx context.Context, c *client, op string, f func(context.Context) (T, *http.Response, error), find func(context.Context) (T, bool, error)) (_ T, unsure bool, _ error) {
	var zero T
	for attempt := 1; ; attempt++ {
		v, resp, err := once(ctx, c, f)
		if err == nil {
			return v, false, nil
		}
		// A 429 or another 4xx was refused before anything was made.
		maybe := resp == nil || resp.StatusCode >= 500
		unsure = unsure || maybe
		if ctx.Err() != nil {
			return zero, unsure, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		wait, again := c.retry(resp, attempt)
		if !again {
			return zero, unsure, apiError(op, resp, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return zero, unsure, fmt.Errorf("%s: %w", op, err)
		}
		if maybe {
			if v, ok, ferr := find(ctx); ferr == nil && ok {
				return v, false, nil
			}
		}
	}
}

// once is one try with the per-call deadline.
func once[T any](ctx context.Context, c *client, f func(context.Context) (T, *http.Response, error)) (T, *http.Response, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timing.Request)
	defer cancel()
	return f(rctx)
}

// retry says whether to try again after this answer, and when.
func (c *client) retry(resp *http.Response, attempt int) (time.Duration, bool) {
	if attempt >= c.timing.Attempts {
		return 0, false
	}
	backoff := c.backoff(attempt)
	switch {
	case resp == nil: // no reply: a reset connection, a call timed out
		return backoff, true
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusServiceUnavailable:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if d > c.timing.MaxRetryWait {
				return 0, false
			}
			return d, true
		}
		return backoff, true
	case resp.StatusCode >= 500:
		return backoff, true
	}
	return 0, false
}

// backoff doubles from RetryBase up to 30 s, with a fifth of jitter so
// parallel creates do not come back in step.
func (c *client) backoff(attempt int) time.Duration {
	d := c.timing.RetryBase << (attempt - 1)
	if d > 30*time.Second || d <= 0 {
		d = 30 * time.Second
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(h); err == nil {
		if n < 0 {
			return 0, false
		}
		// Beyond a day it only matters that it is too long to wait.
		return time.Duration(min(n, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noValue adapts calls that return only a response.
func noValue(f func(context.Context) (*http.Response, error)) func(context.Context) (struct{}, *http.Response, error) {
	return func(ctx context.Context) (struct{}, *http.Response, error) {
		resp, err := f(ctx)
		return struct{}{}, resp, err
	}
}
