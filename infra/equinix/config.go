package equinix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ztlab/zt-lab/infra"
)

// The seeds' variables.tf defaults, but for the OS: the seeds' ubuntu_20_04
// reached its end of standard support in 2025 and Metal no longer offers
// it; Ubuntu 24.04 LTS is the one it does.
const (
	DefaultMetro  = "sv"
	DefaultPlan   = "c3.small.x86"
	DefaultOS     = "ubuntu_24_04"
	DefaultAPIURL = "https://api.equinix.com/metal/v1"
)

// Environment variables the provider reads. The token is never read from a
// file or a flag: a flag shows in `ps` and shell history, a file gets
// committed.
const (
	EnvToken   = "METAL_AUTH_TOKEN"
	EnvProject = "METAL_PROJECT_ID"
)

// Token is an Equinix Metal API token. It prints as [redacted] however it
// is formatted, so a Config can be logged whole.
type Token string

func (Token) String() string   { return "[redacted]" }
func (Token) GoString() string { return "[redacted]" }

// MarshalText keeps the token out of JSON and YAML too.
func (Token) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Config is what a Metal lab is built from: the seeds' Terraform variables
// plus the provider's own waits.
type Config struct {
	Token   Token
	Project string // project UUID
	Metro   string // metro code, e.g. sv
	Plan    string // server plan slug, e.g. c3.small.x86
	OS      string // operating system slug, e.g. ubuntu_24_04
	// Host counts per role; hosts are named consul00, fcs00, fcc00, ...
	Consul, FCS, FCC int
	// UserData replaces the default cloud-init user data when set.
	UserData string
	// APIURL is the Metal API's base URL; tests point it at a fake.
	APIURL string
	// RunDir holds each lab's private SSH key, in a directory of its own.
	RunDir string
	// Lifetime bounds how long a lab's devices bill: each is created with
	// a termination time of the lab's start plus Lifetime, so Metal deletes
	// it even if zt-lab is killed and never runs down.
	Lifetime time.Duration
	Timing   Timing
}

// Timing holds the provider's waits. Zero fields take the defaults.
type Timing struct {
	Poll         time.Duration // between reads of a device's state
	Ready        time.Duration // how long a device may take to become active
	Request      time.Duration // one API call
	Cleanup      time.Duration // tearing down what a failed up created
	Settle       time.Duration // looking for devices whose create got no answer
	RetryBase    time.Duration // first backoff after a 5xx or a lost reply
	MaxRetryWait time.Duration // longest Retry-After honoured
	Attempts     int           // tries per API call
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Poll, 10*time.Second)
	// c3.small.x86 usually provisions in 5-10 minutes.
	def(&t.Ready, 25*time.Minute)
	def(&t.Request, time.Minute)
	// Metal refuses to delete a device while it provisions, so tearing
	// down an interrupted up may have to wait that long.
	def(&t.Cleanup, 25*time.Minute)
	def(&t.Settle, 30*time.Second)
	def(&t.RetryBase, time.Second)
	def(&t.MaxRetryWait, 2*time.Minute)
	if t.Attempts <= 0 {
		t.Attempts = 6
	}
	return t
}

// DefaultLifetime is how long a Metal lab's devices live unless told
// otherwise: a workshop's afternoon.
const DefaultLifetime = 4 * time.Hour

// MinLifetime and MaxLifetime bound Config.Lifetime: a lab must outlive
// its provisioning, and a forgotten one must not bill for a month.
const (
	MinLifetime = 30 * time.Minute
	MaxLifetime = 7 * 24 * time.Hour
)

// DefaultConfig is the seeds' lab: three Consul servers, one fortune
// service, one consumer, c3.small.x86 in sv on Ubuntu 20.04.
func DefaultConfig() Config {
	return Config{
		Metro: DefaultMetro, Plan: DefaultPlan, OS: DefaultOS,
		Consul: 3, FCS: 1, FCC: 1,
		APIURL:   DefaultAPIURL,
		RunDir:   DefaultRunDir(),
		Lifetime: DefaultLifetime,
	}
}

// FromEnv sets the token, and the project when the environment names one.
func (c *Config) FromEnv() {
	c.Token = Token(strings.TrimSpace(os.Getenv(EnvToken)))
	if p := strings.TrimSpace(os.Getenv(EnvProject)); p != "" {
		c.Project = p
	}
}

// DefaultRunDir is where the local lab keeps its run directories too: a
// lab's key lives as long as the machine's runtime directory, which is as
// long as any lab zt-lab drives from it.
func DefaultRunDir() string { return filepath.Join(infra.RuntimeDir(), "equinix") }

// fileConfig is the config file: the seeds' variables.tf names. Pointers
// tell a value that is absent from one that is zero.
type fileConfig struct {
	Project  *string `yaml:"project_id" json:"project_id"`
	Metro    *string `yaml:"metro" json:"metro"`
	Plan     *string `yaml:"plan" json:"plan"`
	OS       *string `yaml:"operating_system" json:"operating_system"`
	Consul   *int    `yaml:"consul_count" json:"consul_count"`
	FCS      *int    `yaml:"fcs_count" json:"fcs_count"`
	FCC      *int    `yaml:"fcc_count" json:"fcc_count"`
	APIURL   *string `yaml:"api_url" json:"api_url"`
	Ready    *string `yaml:"ready_timeout" json:"ready_timeout"`
	UserData *string `yaml:"user_data" json:"user_data"`
}

var tokenKeys = []string{"token", "auth_token", "metal_auth_token", "api_token"}

// LoadFile overlays c with the config file at path: JSON when its name
// ends in .json, YAML otherwise. Keys are variables.tf's: project_id,
// metro, plan, operating_system, consul_count, fcs_count, fcc_count, and
// api_url, ready_timeout, user_data. A token in the file is refused.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var f fileConfig
	var raw map[string]any
	if strings.EqualFold(filepath.Ext(path), ".json") {
		_ = json.Unmarshal(data, &raw)
		if k := tokenKey(raw); k != "" {
			return tokenInFile(path, k)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return fmt.Errorf("config %s: %v", path, err)
		}
	} else {
		_ = yaml.Unmarshal(data, &raw)
		if k := tokenKey(raw); k != "" {
			return tokenInFile(path, k)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		// An empty file changes nothing.
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("config %s: %v", path, err)
		}
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&c.Project, f.Project)
	set(&c.Metro, f.Metro)
	set(&c.Plan, f.Plan)
	set(&c.OS, f.OS)
	set(&c.APIURL, f.APIURL)
	if f.UserData != nil {
		c.UserData = *f.UserData
	}
	for _, n := range []struct {
		dst *int
		v   *int
	}{{&c.Consul, f.Consul}, {&c.FCS, f.FCS}, {&c.FCC, f.FCC}} {
		if n.v != nil {
			*n.dst = *n.v
		}
	}
	if f.Ready != nil {
		d, err := time.ParseDuration(*f.Ready)
		if err != nil || d <= 0 {
			return fmt.Errorf("config %s: ready_timeout %q: want a duration like 25m", path, *f.Ready)
		}
		c.Timing.Ready = d
	}
	return nil
}

func tokenKey(raw map[string]any) string {
	for k := range raw {
		for _, t := range tokenKeys {
			if strings.EqualFold(k, t) {
				return k
			}
		}
	}
	return ""
}

// tokenInFile never repeats the value: only the key's name.
func tokenInFile(path, key string) error {
	return fmt.Errorf("config %s: remove %q: the token is read from %s only, never from a file", path, key, EnvToken)
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	metroRE = regexp.MustCompile(`^[a-z]{2}$`)
	slugRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// Validate checks everything but the token and the project, which only
// the calls that reach the API need (see Provider).
func (c Config) Validate() error {
	if c.Project != "" && !uuidRE.MatchString(c.Project) {
		return fmt.Errorf("project %q is not a project UUID: copy it from the Metal console's project settings", c.Project)
	}
	if !metroRE.MatchString(c.Metro) {
		return fmt.Errorf("metro %q: want a two-letter metro code like %s", c.Metro, DefaultMetro)
	}
	if !slugRE.MatchString(c.Plan) {
		return fmt.Errorf("plan %q: want a plan slug like %s", c.Plan, DefaultPlan)
	}
	if !slugRE.MatchString(c.OS) {
		return fmt.Errorf("operating system %q: want an OS slug like %s", c.OS, DefaultOS)
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"consul", c.Consul}, {"fcs", c.FCS}, {"fcc", c.FCC}} {
		if n.v < 1 || n.v > 10 {
			return fmt.Errorf("%s count %d: want 1 to 10", n.name, n.v)
		}
	}
	if c.Lifetime < MinLifetime || c.Lifetime > MaxLifetime {
		return fmt.Errorf("lifetime %v: want %v to %v (the devices delete themselves after it)", c.Lifetime, MinLifetime, MaxLifetime)
	}
	if c.Consul%2 == 0 {
		return fmt.Errorf("consul count %d: use an odd number, so the servers keep a quorum when one fails", c.Consul)
	}
	return checkAPIURL(c.APIURL)
}

// checkAPIURL refuses to send the token in clear text anywhere but this
// machine (a fake API in a test, a local proxy).
func checkAPIURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("API URL %q: want e.g. %s", s, DefaultAPIURL)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
	}
	return fmt.Errorf("API URL %q: the token only travels over https (or plain http to this machine)", s)
}

// Topology is the seeds' host list for the counts: consul00.., fcs00..,
// fcc00.. — the hostnames variables.tf's format("consul%02d", ...) gives.
func (c Config) Topology() infra.Topology {
	t := infra.Topology{Subnet: infra.DefaultSubnet}
	add := func(prefix string, role infra.Role, n int) {
		for i := range n {
			t.Hosts = append(t.Hosts, infra.HostSpec{Name: fmt.Sprintf("%s%02d", prefix, i), Role: role})
		}
	}
	add("consul", infra.RoleConsul, c.Consul)
	add("fcs", infra.RoleService, c.FCS)
	add("fcc", infra.RoleConsumer, c.FCC)
	return t
}
