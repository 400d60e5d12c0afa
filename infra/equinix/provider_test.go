package equinix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/equinix/metaltest"
)

// fastTiming keeps every wait of the provider short against the fake.
var fastTiming = Timing{
	Poll:         5 * time.Millisecond,
	Ready:        5 * time.Second,
	Request:      2 * time.Second,
	Cleanup:      10 * time.Second,
	Settle:       time.Second,
	RetryBase:    10 * time.Millisecond,
	MaxRetryWait: 3 * time.Second,
	Attempts:     5,
}

func newProvider(t *testing.T, s *metaltest.Server, edit ...func(*Config)) *Provider {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Token = Token(s.Token)
	cfg.Project = s.Project
	cfg.APIURL = s.URL
	cfg.RunDir = t.TempDir()
	cfg.Timing = fastTiming
	for _, e := range edit {
		e(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// events records progress from any goroutine.
type events struct {
	mu  sync.Mutex
	all []infra.Event
}

func (e *events) add(ev infra.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) text() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		fmt.Fprintf(&b, "%s %s %v %v\n", ev.Host, ev.Step, ev.Done, ev.Err)
	}
	return b.String()
}

// assertNothingLeft is the promise of every fault: no device, no key.
func assertNothingLeft(t *testing.T, s *metaltest.Server) {
	t.Helper()
	for _, d := range s.Devices() {
		t.Errorf("device %s (%s, %s) was left behind", d.Hostname, d.ID, d.State)
	}
	for _, k := range s.Keys() {
		t.Errorf("SSH key %s was left behind", k.Label)
	}
}

// assertNoToken checks that a text shown to a user does not hold the token.
func assertNoToken(t *testing.T, s *metaltest.Server, what, text string) {
	t.Helper()
	if strings.Contains(text, s.Token) {
		t.Errorf("%s contains the token: %s", what, text)
	}
}

func hostnames(s *metaltest.Server) []string {
	var out []string
	for _, d := range s.Devices() {
		out = append(out, d.Hostname)
	}
	slices.Sort(out)
	return out
}

var seedHosts = []string{"consul00", "consul01", "consul02", "fcc00", "fcs00"}

func TestUpBuildsTheSeedsFiveHosts(t *testing.T) {
	s := metaltest.New(t)
	p := newProvider(t, s)
	var ev events
	lab, err := p.UpLab(context.Background(), p.Config().Topology(), ev.add)
	if err != nil {
		t.Fatal(err)
	}
	if got := hostnames(s); !slices.Equal(got, seedHosts) {
		t.Fatalf("devices %v, want %v", got, seedHosts)
	}
	keys := s.Keys()
	if len(keys) != 1 || !slices.Contains(keys[0].Tags, LabTag(lab.ID())) {
		t.Fatalf("keys %+v, want one tagged %s", keys, LabTag(lab.ID()))
	}
	for _, d := range s.Devices() {
		if !slices.Contains(d.Tags, TagAll) || !slices.Contains(d.Tags, LabTag(lab.ID())) {
			t.Errorf("%s tags %v, want %s and %s", d.Hostname, d.Tags, TagAll, LabTag(lab.ID()))
		}
		if d.Plan != "c3.small.x86" || d.Metro != "sv" || d.OS != "ubuntu_24_04" {
			t.Errorf("%s is %s in %s on %s, want the seeds' c3.small.x86 in sv on ubuntu_24_04", d.Hostname, d.Plan, d.Metro, d.OS)
		}
		if !slices.Equal(d.Keys, []string{keys[0].ID}) {
			t.Errorf("%s installs keys %v, want the lab's %s", d.Hostname, d.Keys, keys[0].ID)
		}
		if !strings.HasPrefix(d.UserData, "#cloud-config") || !strings.Contains(d.UserData, "ZTLAB_HOST="+d.Hostname) {
			t.Errorf("%s user data is not the lab's cloud-init:\n%s", d.Hostname, d.UserData)
		}
	}
	// Every host reports its way to active.
	text := ev.text()
	for _, h := range seedHosts {
		if !strings.Contains(text, h+" active true") {
			t.Errorf("no 'active' event for %s:\n%s", h, text)
		}
	}
	// Hosts know their addresses.
	for _, tg := range lab.SSHTargets() {
		if !tg.Addr.Is4() || !strings.HasPrefix(tg.Addr.String(), "203.0.113.") || !strings.HasPrefix(tg.Private.String(), "10.70.0.") {
			t.Errorf("%s: public %s private %s", tg.Host, tg.Addr, tg.Private)
		}
		if tg.User != "root" || tg.KeyFile != lab.KeyFile() {
			t.Errorf("%s: user %s key %s", tg.Host, tg.User, tg.KeyFile)
		}
	}
	h, _ := lab.Host("fcs00")
	if h.Addr().String() != lab.SSHTargets()[3].Private.String() {
		t.Errorf("fcs00 Addr %s, want its private address", h.Addr())
	}
	if len(lab.Wire().Names) != 10 {
		t.Errorf("wire names %v, want the public and private address of each host", lab.Wire().Names)
	}

	// The lab's key: 0600, the pair of the project key.
	fi, err := os.Stat(lab.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	pem, _ := os.ReadFile(lab.KeyFile())
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	if signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type %s, want ed25519", signer.PublicKey().Type())
	}
	if !strings.HasPrefix(keys[0].Key, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))) {
		t.Errorf("the project key is not the lab key's public half")
	}

	if err := lab.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, s)
	if _, err := os.Stat(lab.Dir()); !os.IsNotExist(err) {
		t.Errorf("the lab's run directory %s is still there", lab.Dir())
	}
	if err := lab.Close(context.Background()); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// A fault test: what the fake does wrong, what Up must say, and then that
// nothing is left.
type faultCase struct {
	name   string
	setup  func(s *metaltest.Server, cancel context.CancelFunc)
	timing func(*Timing)
	// wantErr is a piece of the error; "" means Up succeeds.
	wantErr []string
	// check runs after Up, before the lab (if any) is closed, with Up's
	// progress events.
	check func(t *testing.T, s *metaltest.Server, events string)
}

func TestFaults(t *testing.T) {
	cases := []faultCase{
		{
			name: "a 500 mid-create is retried and the lab comes up",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, After: 2, Status: 500})
			},
			check: fiveDevices,
		},
		{
			name: "a 500 after the server made the device adopts it rather than making a second",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "consul01", Status: 500, Commit: true})
			},
			check: func(t *testing.T, s *metaltest.Server, _ string) {
				fiveDevices(t, s, "")
				if n := len(s.Calls(metaltest.CreateDevice)); n != 5 {
					t.Errorf("%d create calls, want 5: the made device is found, not made again", n)
				}
			},
		},
		{
			name: "a 429 mid-create waits as long as Retry-After says",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "fcs00", Status: 429, RetryAfter: "1", Message: "Rate limit exceeded"})
			},
			check: func(t *testing.T, s *metaltest.Server, _ string) {
				fiveDevices(t, s, "")
				var at []time.Time
				for _, c := range s.Calls(metaltest.CreateDevice) {
					if c.Host == "fcs00" {
						at = append(at, c.At)
					}
				}
				if len(at) != 2 {
					t.Fatalf("fcs00 was created in %d calls, want 2", len(at))
				}
				if gap := at[1].Sub(at[0]); gap < 900*time.Millisecond {
					t.Errorf("retried after %v, want Retry-After's 1s", gap)
				}
			},
		},
		{
			name: "a 429 while waiting for active is waited out",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.GetDevice, Times: 3, Status: 429, RetryAfter: "0"})
			},
			check: fiveDevices,
		},
		{
			name: "a 503 that never ends fails the up and leaves nothing",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "consul01", Times: -1, Status: 503, Message: "Service Unavailable"})
			},
			wantErr: []string{"create device consul01", "503"},
		},
		{
			name: "a 503 after each commit leaves no second device behind",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "consul02", Times: -1, Status: 502, Commit: true})
			},
			check: fiveDevices,
		},
		{
			name: "a device stuck provisioning times the up out and is deleted",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Stick("fcc00")
			},
			timing:  func(t *Timing) { t.Ready = 300 * time.Millisecond },
			wantErr: []string{"fcc00 is still provisioning after 300ms"},
		},
		{
			name: "a device that fails to provision fails the up",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.FailProvisioning("consul02")
			},
			wantErr: []string{"consul02 failed to provision"},
		},
		{
			name: "a create that times out is found by its tag and adopted",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "consul02", Commit: true, Hang: true})
			},
			timing: func(t *Timing) { t.Request = 200 * time.Millisecond },
			check:  fiveDevices,
		},
		{
			name: "a create that never answers fails the up and leaves nothing",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "fcs00", Times: -1, Hang: true})
			},
			timing:  func(t *Timing) { t.Request = 100 * time.Millisecond; t.Attempts = 3; t.Settle = 200 * time.Millisecond },
			wantErr: []string{"create device fcs00", "deadline exceeded"},
		},
		{
			name: "an interrupted up leaves no billable device",
			setup: func(s *metaltest.Server, cancel context.CancelFunc) {
				// The server makes fcs00, then zt-lab is interrupted
				// before it reads the reply.
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "fcs00", Commit: true, Hang: true, Hook: cancel})
			},
			wantErr: []string{"context canceled", "nothing left behind"},
			check:   deleted("fcs00"),
		},
		{
			name: "a create the server finishes after the client has gone is found and deleted",
			setup: func(s *metaltest.Server, cancel context.CancelFunc) {
				// zt-lab is interrupted once the server has all five
				// creates, before it has made any.
				s.SetLatency(metaltest.CreateDevice, 500*time.Millisecond)
				go func() {
					waitFor(func() bool { return s.Received(metaltest.CreateDevice) == 5 })
					cancel()
				}()
			},
			timing:  func(t *Timing) { t.Settle = 3 * time.Second },
			wantErr: []string{"context canceled"},
			check:   deleted(seedHosts...),
		},
		{
			name: "a device Metal will not delete while it provisions is deleted once it is active",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.SetProvisionTime(400 * time.Millisecond)
				s.RefuseDeleteWhileProvisioning()
				// fcc00 is refused once the other four exist.
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "fcc00", Status: 422, Message: "fcc00 is not a nice name",
					Hook: func() { waitFor(func() bool { return len(s.Devices()) == 4 }) }})
			},
			wantErr: []string{"create device fcc00", "422", "fcc00 is not a nice name"},
			check: func(t *testing.T, s *metaltest.Server, events string) {
				refused := 0
				for _, c := range s.Calls(metaltest.DeleteDevice) {
					if c.Status == 422 {
						refused++
					}
				}
				if refused == 0 || !strings.Contains(events, "Metal deletes it once that ends") {
					t.Errorf("no delete was refused and waited out (%d refused):\n%s", refused, events)
				}
				deleted("consul00", "consul01", "consul02", "fcs00")(t, s, events)
			},
		},
		{
			name: "401 says what the API said and where the token comes from",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateKey, Status: 401, Message: "Invalid authentication token"})
			},
			wantErr: []string{"401 Unauthorized: Invalid authentication token", "METAL_AUTH_TOKEN"},
		},
		{
			name: "403 says what the API said",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "consul00", Status: 403, Message: "You are not authorized to view this project"})
			},
			wantErr: []string{"403 Forbidden: You are not authorized to view this project"},
		},
		{
			name: "404 on the project says to check it",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateKey, Status: 404, Message: "Not found"})
			},
			wantErr: []string{"404 Not Found: Not found", "check the project id"},
		},
		{
			name: "422 says what the API refused",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.SetMetros("da")
			},
			wantErr: []string{"422 Unprocessable Entity: c3.small.x86 is not available in metro sv"},
		},
		{
			name: "an API that echoes the token does not get it printed",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "fcc00", Status: 422, Message: "token " + s.Token + " may not create devices"})
			},
			wantErr: []string{"token [redacted] may not create devices"},
		},
		{
			name: "deletes that fail for a while are retried",
			setup: func(s *metaltest.Server, _ context.CancelFunc) {
				s.Stick("consul00")
				s.Inject(metaltest.Fault{Op: metaltest.DeleteDevice, Times: 3, Status: 500})
				s.Inject(metaltest.Fault{Op: metaltest.DeleteKey, Status: 429, RetryAfter: "0"})
			},
			timing:  func(t *Timing) { t.Ready = 200 * time.Millisecond },
			wantErr: []string{"consul00 is still provisioning"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := metaltest.New(t)
			p := newProvider(t, s, func(c *Config) {
				if tc.timing != nil {
					tc.timing(&c.Timing)
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tc.setup(s, cancel)
			var ev events
			lab, err := p.UpLab(ctx, p.Config().Topology(), ev.add)
			if err != nil {
				assertNoToken(t, s, "error", err.Error())
				assertNoToken(t, s, "progress", ev.text())
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("the error is not one line:\n%s", err)
				}
			}
			switch {
			case len(tc.wantErr) == 0 && err != nil:
				t.Fatalf("up: %v\nevents:\n%s", err, ev.text())
			case len(tc.wantErr) > 0 && err == nil:
				t.Fatalf("up succeeded, want an error with %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if err != nil {
				t.Logf("error: %v", err)
				if entries, _ := os.ReadDir(p.Config().RunDir); len(entries) != 0 {
					t.Errorf("the lab's run directory is left: %v", entries)
				}
			}
			if tc.check != nil {
				tc.check(t, s, ev.text())
			}
			if lab != nil {
				if err := lab.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			assertNothingLeft(t, s)
		})
	}
}

// waitFor waits up to 5 s for cond.
func waitFor(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// deleted checks that Up's cleanup found and deleted these hosts' devices.
func deleted(hosts ...string) func(*testing.T, *metaltest.Server, string) {
	return func(t *testing.T, s *metaltest.Server, events string) {
		t.Helper()
		for _, h := range hosts {
			if !strings.Contains(events, h+" deleted ") {
				t.Errorf("%s was not deleted by the cleanup:\n%s", h, events)
			}
		}
	}
}

func fiveDevices(t *testing.T, s *metaltest.Server, _ string) {
	t.Helper()
	if got := hostnames(s); !slices.Equal(got, seedHosts) {
		t.Errorf("devices %v, want exactly %v", got, seedHosts)
	}
	if n := len(s.Keys()); n != 1 {
		t.Errorf("%d SSH keys, want 1", n)
	}
}

func TestDownFindsTheLabByItsTagAlone(t *testing.T) {
	s := metaltest.New(t)
	s.SetPageSize(2) // the lab's devices span pages
	for _, h := range seedHosts {
		s.AddDevice(h, TagAll, LabTag("0badc0de"))
	}
	s.AddKey(keyLabel("0badc0de"), TagAll, LabTag("0badc0de"))
	other := s.AddDevice("consul00", TagAll, LabTag("5ca1ab1e"))
	s.AddKey(keyLabel("5ca1ab1e"), TagAll, LabTag("5ca1ab1e"))
	mine := s.AddDevice("consul00")
	s.AddKey("someone's laptop")

	p := newProvider(t, s)
	labs, err := p.Labs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(labs) != 2 || labs[0].ID != "0badc0de" || len(labs[0].Hosts) != 5 || labs[0].Keys != 1 || labs[1].ID != "5ca1ab1e" {
		t.Errorf("labs %+v, want 0badc0de with 5 hosts and a key, and 5ca1ab1e", labs)
	}
	var ev events
	if err := p.DownWithProgress(context.Background(), "0badc0de", ev.add); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, d := range s.Devices() {
		left = append(left, d.ID)
	}
	if !slices.Equal(left, []string{other, mine}) {
		t.Errorf("left devices %v, want only the other lab's and the untagged one", left)
	}
	if n := len(s.Keys()); n != 2 {
		t.Errorf("%d keys left, want the other lab's and the laptop's", n)
	}
	if n := strings.Count(ev.text(), " deleted "); n != 5 {
		t.Errorf("%d deleted events, want 5:\n%s", n, ev.text())
	}
	if err := p.Down(context.Background(), "0badc0de"); err != nil {
		t.Errorf("down of a lab that is gone: %v", err)
	}
}

func TestDownRefusesWhatIsNotALabID(t *testing.T) {
	s := metaltest.New(t)
	p := newProvider(t, s)
	for _, id := range []string{"", "../etc", "a b", strings.Repeat("a", 40)} {
		if err := p.Down(context.Background(), id); err == nil {
			t.Errorf("Down(%q) succeeded", id)
		}
	}
	if n := len(s.Calls("")); n != 0 {
		t.Errorf("%d API calls for bad ids", n)
	}
}

// A zt-lab killed mid-lab runs no down: every device is created with a
// termination time, the lab's start plus its lifetime, and Metal deletes it
// then by itself.
func TestEveryDeviceIsCreatedWithATerminationTime(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		want     time.Duration
	}{
		{"the default", 0, DefaultLifetime},
		{"a day", 24 * time.Hour, 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := metaltest.New(t)
			p := newProvider(t, s, func(c *Config) {
				if tc.lifetime != 0 {
					c.Lifetime = tc.lifetime
				}
			})
			lab, err := p.UpLab(context.Background(), p.Config().Topology(), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := lab.Started().Add(tc.want).UTC().Truncate(time.Second)
			if !lab.Terminates().Equal(want) {
				t.Errorf("the lab terminates at %v, want %v", lab.Terminates(), want)
			}
			devs := s.Devices()
			if len(devs) != 5 {
				t.Fatalf("%d devices, want 5", len(devs))
			}
			for _, d := range devs {
				if !d.Terminates.Equal(want) {
					t.Errorf("%s was created to terminate at %v, want %v (the lab's start + %v)", d.Hostname, d.Terminates, want, tc.want)
				}
			}
		})
	}
}

func TestALifetimeOutOfBoundsIsRefused(t *testing.T) {
	for _, d := range []time.Duration{0, time.Minute, 8 * 24 * time.Hour, -time.Hour} {
		cfg := DefaultConfig()
		cfg.Lifetime = d
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "lifetime") {
			t.Errorf("lifetime %v: %v, want it refused", d, err)
		}
	}
}

func TestCallsThatNeedTheAPISayWhatIsMissing(t *testing.T) {
	s := metaltest.New(t)
	noToken := newProvider(t, s, func(c *Config) { c.Token = "" })
	if _, err := noToken.Up(context.Background(), infra.DefaultTopology(), nil); !errors.Is(err, ErrNoToken) {
		t.Errorf("up without a token: %v", err)
	}
	noProject := newProvider(t, s, func(c *Config) { c.Project = "" })
	if err := noProject.Down(context.Background(), "0badc0de"); !errors.Is(err, ErrNoProject) {
		t.Errorf("down without a project: %v", err)
	}
}

// TestCrashHelper is the zt-lab that crashes: it runs only as the child of
// TestACrashedUpIsCleanedByDownByLabID.
func TestCrashHelper(t *testing.T) {
	if os.Getenv("ZTLAB_TEST_CRASH_URL") == "" {
		t.Skip("runs as a child of TestACrashedUpIsCleanedByDownByLabID")
	}
	cfg := DefaultConfig()
	cfg.FromEnv()
	cfg.APIURL = os.Getenv("ZTLAB_TEST_CRASH_URL")
	cfg.RunDir = t.TempDir()
	cfg.Timing = fastTiming
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Up(context.Background(), cfg.Topology(), nil)
	t.Fatalf("up returned (%v): the parent should have killed it", err)
}

func TestACrashedUpIsCleanedByDownByLabID(t *testing.T) {
	s := metaltest.New(t)
	committed := make(chan struct{})
	var once sync.Once
	// The server makes fcs00 and zt-lab dies before it hears the reply.
	s.Inject(metaltest.Fault{Op: metaltest.CreateDevice, Host: "fcs00", Commit: true, Hang: true,
		Hook: func() { once.Do(func() { close(committed) }) }})
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "ZTLAB_TEST_CRASH_URL="+s.URL, EnvToken+"="+s.Token, EnvProject+"="+s.Project)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-committed:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child never created fcs00:\n%s", out)
	}
	// Let the other creates land too, then crash it.
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !slices.Contains(hostnames(s), "fcs00") || len(s.Keys()) != 1 {
		t.Fatalf("after the crash: devices %v, %d keys; want fcs00 and the key among them", hostnames(s), len(s.Keys()))
	}
	t.Logf("the crash left %d devices and %d key", len(s.Devices()), len(s.Keys()))

	// A new zt-lab, with no state from the one that crashed.
	p := newProvider(t, s)
	labs, err := p.Labs(context.Background())
	if err != nil || len(labs) != 1 {
		t.Fatalf("labs %+v, %v; want the crashed one", labs, err)
	}
	if err := p.Down(context.Background(), labs[0].ID); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, s)
}

// TestDevicesAreCreatedInParallel holds every create at the fake's gate
// and proves that all the lab's hosts are being created at the same
// moment: a provider that created them one by one would never have more
// than one create in flight, whatever the timing.
func TestDevicesAreCreatedInParallel(t *testing.T) {
	s := metaltest.New(t)
	gate := s.Hold(metaltest.CreateDevice)
	// No create may time out while it waits at the gate.
	p := newProvider(t, s, func(c *Config) { c.Timing.Request = time.Minute })
	want := len(p.Config().Topology().Hosts)
	type result struct {
		lab infra.Lab
		err error
	}
	done := make(chan result, 1)
	go func() {
		lab, err := p.Up(context.Background(), p.Config().Topology(), nil)
		done <- result{lab, err}
	}()
	held := gate.WaitHeld(want, 10*time.Second)
	gate.Release()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("%d of %d creates in flight at once (most ever %d)", held, want, gate.MostHeld())
	if held != want || gate.MostHeld() != want {
		t.Errorf("%d creates in flight at once (most ever %d), want all %d hosts' creates together: the creates are not parallel", held, gate.MostHeld(), want)
	}
	if n := s.Received(metaltest.CreateDevice); n != want {
		t.Errorf("%d create calls, want %d", n, want)
	}
	if err := r.lab.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, s)
}

func TestAddHostMakesOneMoreDevice(t *testing.T) {
	s := metaltest.New(t)
	p := newProvider(t, s)
	lab, err := p.UpLab(context.Background(), p.Config().Topology(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lab.AddHost(context.Background(), infra.HostSpec{Name: "fcs01", Role: infra.RoleService}); err != nil {
		t.Fatal(err)
	}
	if len(lab.Hosts()) != 6 || len(s.Devices()) != 6 {
		t.Errorf("%d hosts, %d devices after adding fcs01", len(lab.Hosts()), len(s.Devices()))
	}
	if _, err := lab.AddHost(context.Background(), infra.HostSpec{Name: "fcs01", Role: infra.RoleService}); err == nil {
		t.Error("a second fcs01 was added")
	}
	// A failed add deletes its device and keeps the rest.
	s.FailProvisioning("fcs02")
	if _, err := lab.AddHost(context.Background(), infra.HostSpec{Name: "fcs02", Role: infra.RoleService}); err == nil {
		t.Error("fcs02 failed to provision, yet AddHost succeeded")
	}
	if n := len(s.Devices()); n != 6 {
		t.Errorf("%d devices after a failed add, want 6", n)
	}
	if err := lab.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, s)
}

func TestPlanPrintsWhatUpWouldCreateAndCreatesNothing(t *testing.T) {
	s := metaltest.New(t)
	p := newProvider(t, s)
	pl, err := p.Plan(context.Background(), p.Config().Topology())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := pl.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range append([]string{"c3.small.x86", "sv", "ubuntu_24_04", s.Project, "5 × $0.75/h = $3.75 per hour", "zt-lab:ID"}, seedHosts...) {
		if !strings.Contains(out, want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)
	for _, c := range s.Calls("") {
		if c.Op != metaltest.ListPlans {
			t.Errorf("the dry run called %s", c.Op)
		}
	}
	assertNothingLeft(t, s)

	// Without a token it still plans, without a price.
	noToken := newProvider(t, s, func(c *Config) { c.Token = "" })
	pl, err = noToken.Plan(context.Background(), p.Config().Topology())
	if err != nil || pl.PriceKnown || !strings.Contains(pl.PriceNote, EnvToken) {
		t.Errorf("plan without a token: %+v, %v", pl, err)
	}
	// A plan the project is not offered is an error.
	other := newProvider(t, s, func(c *Config) { c.Plan = "n3.xlarge.x86" })
	if _, err := other.Plan(context.Background(), p.Config().Topology()); err == nil || !strings.Contains(err.Error(), "c3.small.x86") {
		t.Errorf("plan n3.xlarge.x86: %v, want an error listing what is offered", err)
	}
	// A plan without pricing says so.
	s.SetPrice("c3.small.x86", -1)
	pl, err = p.Plan(context.Background(), p.Config().Topology())
	if err != nil || pl.PriceKnown || !strings.Contains(pl.PriceNote, "no hourly price") {
		t.Errorf("plan without pricing: %+v, %v", pl, err)
	}
}

func TestTheLabKeyStaysInItsRunDirectory(t *testing.T) {
	s := metaltest.New(t)
	p := newProvider(t, s)
	lab, err := p.UpLab(context.Background(), p.Config().Topology(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close(context.Background())
	if filepath.Dir(lab.KeyFile()) != filepath.Join(p.Config().RunDir, lab.ID()) {
		t.Errorf("key %s is not in the lab's run directory", lab.KeyFile())
	}
	fi, err := os.Stat(lab.Dir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("run directory: %v, %v; want mode 0700", fi.Mode().Perm(), err)
	}
}

func TestAttachFindsARunningLabFromAnotherProcess(t *testing.T) {
	s := metaltest.New(t)
	p := newProvider(t, s)
	lab, err := p.UpLab(context.Background(), p.Config().Topology(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close(context.Background())
	h, _ := lab.Host("fcs00")
	if err := h.Fail(context.Background(), infra.Crash); err != nil {
		t.Fatal(err)
	}

	// The same machine: the key is found too.
	same := newProvider(t, s, func(c *Config) { c.RunDir = p.Config().RunDir })
	again, err := same.Attach(context.Background(), lab.ID())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range again.Hosts() {
		names = append(names, h.Name()+"/"+string(h.Role())+"/"+string(h.State()))
	}
	want := []string{"consul00/consul/up", "consul01/consul/up", "consul02/consul/up", "fcs00/fcs/crashed", "fcc00/fcc/up"}
	if !slices.Equal(names, want) {
		t.Errorf("attached hosts %v, want %v", names, want)
	}
	if again.KeyFile() != lab.KeyFile() || !slices.Equal(again.SSHTargets(), lab.SSHTargets()) {
		t.Errorf("attached targets %+v\nwant %+v", again.SSHTargets(), lab.SSHTargets())
	}
	ah, _ := again.Host("fcs00")
	if err := ah.Recover(context.Background()); err != nil || ah.State() != infra.StateUp {
		t.Errorf("recover through the attached lab: %v, %s", err, ah.State())
	}

	// Another machine has no key.
	other := newProvider(t, s)
	elsewhere, err := other.Attach(context.Background(), lab.ID())
	if err != nil || elsewhere.KeyFile() != "" || len(elsewhere.Hosts()) != 5 {
		t.Errorf("attach from elsewhere: %v, key %q", err, elsewhere.KeyFile())
	}
	if _, err := other.Attach(context.Background(), "0badc0de"); !errors.Is(err, ErrNoLab) {
		t.Errorf("attach to a lab that is not there: %v", err)
	}
}

// Metal no longer offers the seeds' ubuntu_20_04: the default is one it
// does, and a device asked for on an OS it has dropped fails the up in one
// line, leaving no device behind.
func TestTheDefaultOSIsOneMetalOffers(t *testing.T) {
	if !slices.Contains(metaltest.OperatingSystems, DefaultOS) {
		t.Errorf("DefaultOS %q is not among the OSes Metal offers: %q", DefaultOS, metaltest.OperatingSystems)
	}
	s := metaltest.New(t)
	p := newProvider(t, s, func(c *Config) { c.OS = "ubuntu_20_04" })
	_, err := p.UpLab(context.Background(), p.Config().Topology(), func(infra.Event) {})
	if err == nil || !strings.Contains(err.Error(), "422 Unprocessable Entity: operating system ubuntu_20_04 is not available") || strings.Contains(err.Error(), "\n") {
		t.Errorf("up on ubuntu_20_04: %v, want one line with Metal's 422", err)
	}
	if d := s.Devices(); len(d) != 0 {
		t.Errorf("%d devices left behind", len(d))
	}
}
