package mesh

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/consul/api"
)

// refusedStrangers is what the lab must see: every attempt refused, the
// intentions unchanged.
func refusedStrangers() Strangers {
	set := []string{"* => * (deny)", "* => fcs (deny)", "fcc => fcs (allow)"}
	return Strangers{
		Who: "rogue00",
		Attempts: []Attempt{
			{What: "connect to fcs00's agent API", Via: "198.18.0.20:8500 over the wire from rogue00", Answer: "dial tcp 198.18.0.20:8500: connect: connection refused", Refused: true},
			{What: "consul intention create -allow rogue fcs", Via: "rogue00's agent", Answer: `403 Permission denied: token with AccessorID 'a' lacks permission 'intentions:write' on "fcs"`, Refused: true},
		},
		Before: set,
		After:  append([]string(nil), set...),
	}
}

func TestCheckStrangers(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Strangers)
		pass   bool
		says   string
	}{
		{"every attempt refused, rules unchanged", func(*Strangers) {}, true, "the same 3"},
		{"an attempt got 200", func(s *Strangers) {
			s.Attempts[1] = apiAttempt("consul intention create -allow rogue fcs", "rogue00's agent", nil)
		}, false, "NOT REFUSED: consul intention create -allow rogue fcs via rogue00's agent: 200 OK"},
		{"the API answered over the wire", func(s *Strangers) {
			s.Attempts[0].Refused, s.Attempts[0].Answer = false, "connection accepted: the API listens on the wire"
		}, false, "NOT REFUSED: connect to fcs00's agent API"},
		{"an allow appeared", func(s *Strangers) { s.After = append(s.After, "rogue => fcs (allow)") }, false, "new:  rogue => fcs (allow)"},
		{"the deny-all is gone", func(s *Strangers) { s.After = s.After[1:] }, false, "gone: * => * (deny)"},
		{"no attempts", func(s *Strangers) { s.Attempts = nil }, false, "no attempt was made"},
		{"nothing to protect", func(s *Strangers) { s.Before, s.After = nil, nil }, false, "no intentions to protect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := refusedStrangers()
			tt.change(&s)
			c := CheckStrangers(s)
			if c.Pass != tt.pass {
				t.Errorf("pass = %v, want %v: %s", c.Pass, tt.pass, c)
			}
			if !strings.Contains(strings.Join(c.Evidence, "\n"), tt.says) {
				t.Errorf("evidence does not say %q:\n%s", tt.says, strings.Join(c.Evidence, "\n"))
			}
		})
	}
}

func TestAPIAttemptRefusedOnlyByPermissionDenied(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		refused bool
		answer  string
	}{
		{"403 permission denied", api.StatusError{Code: 403, Body: "Permission denied: token with AccessorID 'x' lacks permission 'intentions:write' on \"*\""}, true, "403 Permission denied"},
		{"403 ACL not found", api.StatusError{Code: 403, Body: "ACL not found"}, false, "403 ACL not found"},
		{"500", api.StatusError{Code: 500, Body: "rpc error"}, false, "500 rpc error"},
		{"no answer", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, false, "connection refused"},
		{"done", nil, false, "200 OK"},
	}
	for _, tt := range tests {
		a := apiAttempt("x", "y", tt.err)
		if a.Refused != tt.refused || !strings.Contains(a.Answer, tt.answer) {
			t.Errorf("%s: refused %v answer %q, want %v and %q", tt.name, a.Refused, a.Answer, tt.refused, tt.answer)
		}
	}
	if !errors.Is(&net.OpError{Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, syscall.ECONNREFUSED) {
		t.Fatal("a refused dial does not unwrap to ECONNREFUSED")
	}
}

func TestTokensLeastPrivilege(t *testing.T) {
	a := AgentToken("fcs00", "dc1", "s1")
	if a.SecretID != "s1" || len(a.NodeIdentities) != 1 || a.NodeIdentities[0].NodeName != "fcs00" || a.NodeIdentities[0].Datacenter != "dc1" ||
		len(a.ServiceIdentities)+len(a.Policies)+len(a.Roles)+len(a.TemplatedPolicies) != 0 {
		t.Errorf("agent token is more than fcs00's node identity: %+v", a)
	}
	s := ServiceToken("rogue", "s2")
	if s.SecretID != "s2" || len(s.ServiceIdentities) != 1 || s.ServiceIdentities[0].ServiceName != "rogue" || len(s.ServiceIdentities[0].Datacenters) != 0 ||
		len(s.NodeIdentities)+len(s.Policies)+len(s.Roles)+len(s.TemplatedPolicies) != 0 {
		t.Errorf("service token is more than rogue's service identity: %+v", s)
	}
	l := LearnerToken("s3")
	if len(l.Policies) != 1 || l.Policies[0].Name != learnerPolicy || len(l.ServiceIdentities)+len(l.NodeIdentities)+len(l.Roles) != 0 {
		t.Errorf("learner token is more than the read-only policy: %+v", l)
	}
	if strings.Contains(LearnerRules, "write") {
		t.Errorf("the learners' policy writes:\n%s", LearnerRules)
	}
	for _, want := range []string{`node_prefix ""`, `service_prefix ""`, `intentions = "read"`, `operator = "read"`} {
		if !strings.Contains(LearnerRules, want) {
			t.Errorf("the learners' policy lacks %s", want)
		}
	}
}

func TestNewSecretIsAUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := newSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[14] != '4' || s[18] != '-' || !strings.ContainsRune("89ab", rune(s[19])) || s[23] != '-' {
			t.Fatalf("%q is not a version 4 UUID", s)
		}
		if seen[s] {
			t.Fatalf("%q twice", s)
		}
		seen[s] = true
	}
}
