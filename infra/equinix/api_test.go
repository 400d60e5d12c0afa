package equinix

import (
	"bytes"
	"context"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra/equinix/metaltest"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"1", time.Second, true},
		{"0", 0, true},
		{" 30 ", 30 * time.Second, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
		{"10000000000", 24 * time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, tc := range cases {
		got, ok := retryAfter(tc.header, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q: %v %v, want %v %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "120", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if d, ok := retryAfter(h, time.Now()); ok && d < 0 {
			t.Errorf("Retry-After %q gave a negative wait %v", h, d)
		}
	})
}

func TestAPIMessagesAreOneLineOfTheAPIsOwnWords(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"errors":["Plan c3.small.x86 is not available in metro sv"]}`, "Plan c3.small.x86 is not available in metro sv"},
		{`{"errors":["a","b"],"error":"c"}`, "a; b; c"},
		{`{"error":"Invalid authentication token"}`, "Invalid authentication token"},
		{"<html><body>502 Bad Gateway</body></html>", ""},
		{"upstream\nconnect error\r\n", "upstream connect error"},
		{"", ""},
		{`{"errors":["` + strings.Repeat("x", 400) + `"]}`, strings.Repeat("x", 300) + "..."},
	}
	for _, tc := range cases {
		if got := apiMessage([]byte(tc.body)); got != tc.want {
			t.Errorf("body %q: message %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestARetryAfterTooLongIsNotWaitedFor(t *testing.T) {
	s := metaltest.New(t)
	s.Inject(metaltest.Fault{Op: metaltest.CreateKey, Status: 429, RetryAfter: "3600", Message: "Rate limit exceeded"})
	p := newProvider(t, s)
	start := time.Now()
	_, err := p.Up(context.Background(), p.Config().Topology(), nil)
	if err == nil || !strings.Contains(err.Error(), "429 Too Many Requests: Rate limit exceeded") {
		t.Errorf("error %v, want the 429 and the API's message", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("waited %v", time.Since(start))
	}
	assertNothingLeft(t, s)
}

func TestNoLogLineOrErrorHoldsTheToken(t *testing.T) {
	var logs bytes.Buffer
	old := log.Writer()
	log.SetOutput(&logs)
	defer log.SetOutput(old)
	s := metaltest.New(t)
	// An API that echoes the token in every kind of failure.
	s.Inject(metaltest.Fault{Op: metaltest.GetDevice, Times: 2, Status: 500, Message: "oops " + s.Token})
	s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "fcc00", Status: 401, Message: "bad token " + s.Token})
	p := newProvider(t, s)
	var ev events
	_, err := p.Up(context.Background(), p.Config().Topology(), ev.add)
	if err == nil {
		t.Fatal("up succeeded")
	}
	assertNoToken(t, s, "error", err.Error())
	assertNoToken(t, s, "progress", ev.text())
	assertNoToken(t, s, "log", logs.String())
	_, err = p.Plan(context.Background(), p.Config().Topology())
	if err != nil {
		t.Fatal(err)
	}
	assertNoToken(t, s, "log", logs.String())
	assertNothingLeft(t, s)
}
