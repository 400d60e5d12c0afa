// Package metaltest is a fake Equinix Metal API for tests: the endpoints
// zt-lab's equinix provider uses, a device life cycle, and latency and
// faults to inject, so that teardown can be proven to leave nothing.
package metaltest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Op names an endpoint of the fake.
type Op string

const (
	CreateDevice Op = "create device" // POST /projects/{id}/devices
	ListDevices  Op = "list devices"  // GET /projects/{id}/devices
	GetDevice    Op = "get device"    // GET /devices/{id}
	DeleteDevice Op = "delete device" // DELETE /devices/{id}
	DeviceAction Op = "device action" // POST /devices/{id}/actions
	CreateKey    Op = "create key"    // POST /projects/{id}/ssh-keys
	ListKeys     Op = "list keys"     // GET /projects/{id}/ssh-keys
	DeleteKey    Op = "delete key"    // DELETE /ssh-keys/{id}
	ListPlans    Op = "list plans"    // GET /projects/{id}/plans
)

// Fault makes calls to an endpoint go wrong.
type Fault struct {
	Op   Op     // the endpoint; empty for every endpoint
	Host string // only creates of this hostname
	// After lets this many matching calls through before the fault fires.
	After int
	// Times is how many calls fail: 0 means one, a negative number every
	// call from then on.
	Times      int
	Status     int    // the answer's status
	Message    string // the API's message in the answer's body
	RetryAfter string // a Retry-After header
	// Commit carries the call out before the fault: the server keeps what
	// it made, and the client never hears of it.
	Commit bool
	// Hang never answers: the call is held until the client goes away.
	Hang bool
	// Hook runs when the fault fires, after Commit's work.
	Hook func()

	seen, fired int
}

// OperatingSystems are the slugs the fake lets a device have, as Metal
// offered them after its last OS updates: ubuntu_20_04 and older are no
// longer among them, and a device asked for on one is refused (422).
var OperatingSystems = []string{"ubuntu_24_04", "ubuntu_22_04", "debian_12", "rocky_9", "alma_9", "rhel_9"}

// Call is one request the fake received.
type Call struct {
	Op     Op
	Host   string // the hostname, for creates
	At     time.Time
	Status int // 0 for a call that was never answered
}

// Device is a device as the fake holds it.
type Device struct {
	ID       string
	Hostname string
	State    string
	Tags     []string
	Plan     string
	Metro    string
	OS       string
	UserData string
	Keys     []string // project SSH key ids
	Public   string
	Private  string
	// Terminates is the create request's termination_time: when Metal
	// would delete the device by itself (zero when none was asked for).
	Terminates time.Time
	created    time.Time
	off        bool
}

// Key is a project SSH key as the fake holds it.
type Key struct {
	ID    string
	Label string
	Key   string
	Tags  []string
}

// Server is the fake API. Give the SDK URL as its server.
type Server struct {
	URL     string // base URL, ending in /metal/v1
	Token   string // the only X-Auth-Token it accepts
	Project string // the only project it knows

	t   testing.TB
	srv *httptest.Server

	mu               sync.Mutex
	devices          []*Device
	keys             []*Key
	prices           map[string]float64
	metros           []string
	latency          map[Op]time.Duration
	provision        time.Duration
	stuck, failing   map[string]bool
	refuseBusyDelete bool
	pageSize         int
	faults           []*Fault
	calls            []Call
	received         map[Op]int
	next             int
	addresses        func(hostname string) (public, private string)
	authorized       string
	power            func(hostname string, on bool)
	gates            map[Op]*Gate
}

// Gate holds the calls to one endpoint until it is released, and counts
// how many it holds at once: a test proves calls overlap by seeing them
// all held together, which no timing can fake.
type Gate struct {
	mu       sync.Mutex
	held     int // calls waiting at the gate now
	most     int // the most it ever held at once
	open     chan struct{}
	changed  chan struct{} // closed and replaced whenever held changes
	released bool
}

// Hold makes every call to op wait, after its latency and before the
// server acts on it, until the gate is released or the client goes away.
func (s *Server) Hold(op Op) *Gate {
	g := &Gate{open: make(chan struct{}), changed: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gates == nil {
		s.gates = map[Op]*Gate{}
	}
	s.gates[op] = g
	return g
}

// Held is how many calls wait at the gate now.
func (g *Gate) Held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// MostHeld is the most calls the gate ever held at once.
func (g *Gate) MostHeld() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most
}

// WaitHeld waits until the gate holds n calls at once, or d passes; it
// returns how many it held when it stopped waiting.
func (g *Gate) WaitHeld(n int, d time.Duration) int {
	timeout := time.After(d)
	for {
		g.mu.Lock()
		held, changed := g.held, g.changed
		g.mu.Unlock()
		if held >= n {
			return held
		}
		select {
		case <-changed:
		case <-timeout:
			return held
		}
	}
}

// Release lets every held call, and every later one, through.
func (g *Gate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.released {
		g.released = true
		close(g.open)
	}
}

// pass holds a call at the gate until it opens or done is closed.
func (g *Gate) pass(done <-chan struct{}) {
	g.mu.Lock()
	g.held++
	g.most = max(g.most, g.held)
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-done:
	}
	g.mu.Lock()
	g.held--
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// New starts a fake that t closes. Its devices become active 20 ms after
// they are created; c3.small.x86 costs $0.75 an hour.
func New(t testing.TB) *Server {
	s := &Server{
		Token:     "fake-token-" + randHex(16),
		Project:   newID(),
		t:         t,
		prices:    map[string]float64{"c3.small.x86": 0.75, "m3.small.x86": 1.05, "c3.medium.x86": 1.5},
		metros:    []string{"sv", "da", "ny", "am", "sg"},
		latency:   map[Op]time.Duration{},
		provision: 20 * time.Millisecond,
		stuck:     map[string]bool{},
		failing:   map[string]bool{},
		pageSize:  100,
		received:  map[Op]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /metal/v1/projects/{project}/devices", s.handle(CreateDevice, true, s.createDevice))
	mux.HandleFunc("GET /metal/v1/projects/{project}/devices", s.handle(ListDevices, true, s.listDevices))
	mux.HandleFunc("GET /metal/v1/devices/{id}", s.handle(GetDevice, false, s.getDevice))
	mux.HandleFunc("DELETE /metal/v1/devices/{id}", s.handle(DeleteDevice, false, s.deleteDevice))
	mux.HandleFunc("POST /metal/v1/devices/{id}/actions", s.handle(DeviceAction, false, s.action))
	mux.HandleFunc("POST /metal/v1/projects/{project}/ssh-keys", s.handle(CreateKey, true, s.createKey))
	mux.HandleFunc("GET /metal/v1/projects/{project}/ssh-keys", s.handle(ListKeys, true, s.listKeys))
	mux.HandleFunc("DELETE /metal/v1/ssh-keys/{id}", s.handle(DeleteKey, false, s.deleteKey))
	mux.HandleFunc("GET /metal/v1/projects/{project}/plans", s.handle(ListPlans, true, s.listPlans))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("metaltest: the provider called %s %s, which the fake does not serve", r.Method, r.URL.Path)
		writeError(w, http.StatusNotFound, "Not found")
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/metal/v1"
	t.Cleanup(s.Close)
	return s
}

// Close stops the fake; calls still held by a Hang fault or a gate end.
func (s *Server) Close() {
	s.mu.Lock()
	for _, g := range s.gates {
		g.Release()
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetLatency makes every call to op take d before the server acts on it.
// The server finishes its work even if the client has gone by then.
func (s *Server) SetLatency(op Op, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[op] = d
}

// SetProvisionTime is how long a new device takes to become active.
func (s *Server) SetProvisionTime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.provision = d
}

// Stick keeps the device with this hostname provisioning forever.
func (s *Server) Stick(hostname string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stuck[hostname] = true
}

// FailProvisioning makes the device with this hostname end in state failed.
func (s *Server) FailProvisioning(hostname string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[hostname] = true
}

// RefuseDeleteWhileProvisioning answers 422 to deleting a device that is
// queued or provisioning, as Metal does.
func (s *Server) RefuseDeleteWhileProvisioning() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseBusyDelete = true
}

// SetPageSize caps the devices listed per page.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// SetPrice sets a plan's hourly price; a negative price lists the plan
// without pricing.
func (s *Server) SetPrice(plan string, hour float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prices[plan] = hour
}

// SetMetros sets the metros where the plans can be deployed.
func (s *Server) SetMetros(metros ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metros = metros
}

// SetAddresses gives new devices the addresses addr returns for their
// hostname instead of documentation addresses: a test can make them
// machines it runs itself.
func (s *Server) SetAddresses(addr func(hostname string) (public, private string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addresses = addr
}

// InstallKeys appends the project keys a device is created with to path,
// as a real device's first boot puts them in root's authorized_keys.
func (s *Server) InstallKeys(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorized = path
}

// OnPower calls power when a device is powered off or on, before the
// API answers: a test cuts and restores the machine that stands for it.
func (s *Server) OnPower(power func(hostname string, on bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.power = power
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// AddDevice puts an active device in the project, as if someone had made
// it earlier, and returns its id.
func (s *Server) AddDevice(hostname string, tags ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.newDevice(hostname, tags)
	d.created = time.Now().Add(-time.Hour)
	return d.ID
}

// AddKey puts a project SSH key in the project.
func (s *Server) AddKey(label string, tags ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	k := &Key{ID: newID(), Label: label, Key: "ssh-ed25519 AAAA" + strconv.Itoa(s.next), Tags: tags}
	s.keys = append(s.keys, k)
	return k.ID
}

// Devices lists the project's devices.
func (s *Server) Devices() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Device
	for _, d := range s.devices {
		c := *d
		c.State = s.state(d)
		out = append(out, c)
	}
	return out
}

// Keys lists the project's SSH keys.
func (s *Server) Keys() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Key
	for _, k := range s.keys {
		out = append(out, *k)
	}
	return out
}

// Received counts the calls to op that have arrived, answered or not.
func (s *Server) Received(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[op]
}

// Calls lists the calls answered (or abandoned) for op, or every call for "".
func (s *Server) Calls(op Op) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) state(d *Device) string {
	switch {
	case d.off:
		return "inactive"
	case s.stuck[d.Hostname]:
		return "provisioning"
	case time.Since(d.created) < s.provision/2:
		return "queued"
	case time.Since(d.created) < s.provision:
		return "provisioning"
	case s.failing[d.Hostname]:
		return "failed"
	}
	return "active"
}

// handle wraps an endpoint with what every call goes through: the token,
// the project, latency and faults.
func (s *Server) handle(op Op, inProject bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		host := ""
		if op == CreateDevice {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var in struct{ Hostname string }
			_ = json.Unmarshal(body, &in)
			host = in.Hostname
		}
		rec := &recorder{ResponseWriter: w}
		defer func() {
			s.mu.Lock()
			s.calls = append(s.calls, Call{Op: op, Host: host, At: at, Status: rec.status})
			s.mu.Unlock()
		}()
		if r.Header.Get("X-Auth-Token") != s.Token {
			writeError(rec, http.StatusUnauthorized, "Invalid authentication token")
			return
		}
		if inProject && r.PathValue("project") != s.Project {
			writeError(rec, http.StatusNotFound, "Not found")
			return
		}
		s.mu.Lock()
		s.received[op]++
		lat := s.latency[op]
		gate := s.gates[op]
		s.mu.Unlock()
		// A server goes on with its work when the client leaves.
		time.Sleep(lat)
		if gate != nil {
			gate.pass(r.Context().Done())
		}
		f := s.fault(op, host)
		if f == nil {
			h(rec, r)
			return
		}
		if f.Commit {
			h(httptest.NewRecorder(), r)
		}
		if f.Hook != nil {
			f.Hook()
		}
		if f.Hang {
			<-r.Context().Done()
			return
		}
		if f.RetryAfter != "" {
			rec.Header().Set("Retry-After", f.RetryAfter)
		}
		writeError(rec, f.Status, f.Message)
	}
}

// fault returns the fault that fires for this call, if one does.
func (s *Server) fault(op Op, host string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if (f.Op != "" && f.Op != op) || (f.Host != "" && f.Host != host) {
			continue
		}
		f.seen++
		if f.seen <= f.After {
			continue
		}
		times := f.Times
		if times == 0 {
			times = 1
		}
		if times > 0 && f.fired >= times {
			continue
		}
		f.fired++
		return f
	}
	return nil
}

func (s *Server) newDevice(hostname string, tags []string) *Device {
	s.next++
	d := &Device{
		ID: newID(), Hostname: hostname, Tags: tags, created: time.Now(),
		Plan: "c3.small.x86", Metro: "sv", OS: "ubuntu_24_04",
		// TEST-NET-3 for the public side, as no real address must leak
		// into a test.
		Public:  fmt.Sprintf("203.0.113.%d", s.next%250+2),
		Private: fmt.Sprintf("10.70.0.%d", s.next%250+2),
	}
	if s.addresses != nil {
		d.Public, d.Private = s.addresses(hostname)
	}
	s.devices = append(s.devices, d)
	return d
}

func (s *Server) createDevice(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Metro           string     `json:"metro"`
		Plan            string     `json:"plan"`
		OperatingSystem string     `json:"operating_system"`
		Hostname        string     `json:"hostname"`
		Tags            []string   `json:"tags"`
		Userdata        string     `json:"userdata"`
		ProjectSSHKeys  []string   `json:"project_ssh_keys"`
		TerminationTime *time.Time `json:"termination_time"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.prices[in.Plan]; !ok {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Plan %s is not valid", in.Plan))
		return
	}
	if !slices.Contains(s.metros, in.Metro) {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("%s is not available in metro %s", in.Plan, in.Metro))
		return
	}
	if in.Hostname == "" || in.OperatingSystem == "" {
		writeError(w, http.StatusUnprocessableEntity, "hostname and operating_system are required")
		return
	}
	if !slices.Contains(OperatingSystems, in.OperatingSystem) {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("operating system %s is not available", in.OperatingSystem))
		return
	}
	if in.TerminationTime != nil && !in.TerminationTime.After(time.Now()) {
		writeError(w, http.StatusUnprocessableEntity, "termination_time must be in the future")
		return
	}
	for _, id := range in.ProjectSSHKeys {
		if !slices.ContainsFunc(s.keys, func(k *Key) bool { return k.ID == id }) {
			writeError(w, http.StatusUnprocessableEntity, "SSH key "+id+" not found in project")
			return
		}
	}
	d := s.newDevice(in.Hostname, in.Tags)
	d.Plan, d.Metro, d.OS, d.UserData, d.Keys = in.Plan, in.Metro, in.OperatingSystem, in.Userdata, in.ProjectSSHKeys
	if in.TerminationTime != nil {
		d.Terminates = *in.TerminationTime
	}
	if err := s.installKeys(d); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, s.deviceJSON(d))
}

// installKeys writes d's keys where InstallKeys said. s.mu is held.
func (s *Server) installKeys(d *Device) error {
	if s.authorized == "" {
		return nil
	}
	f, err := os.OpenFile(s.authorized, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	for _, id := range d.Keys {
		for _, k := range s.keys {
			if k.ID == id {
				fmt.Fprintln(f, k.Key)
			}
		}
	}
	return f.Close()
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*Device
	for _, d := range s.devices {
		if tag := q.Get("tag"); tag == "" || slices.Contains(d.Tags, tag) {
			match = append(match, d)
		}
	}
	per := s.pageSize
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 && n < per {
		per = n
	}
	page := 1
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	last := max(1, (len(match)+per-1)/per)
	var out []any
	for i := (page - 1) * per; i < min(len(match), page*per); i++ {
		out = append(out, s.deviceJSON(match[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"devices": out,
		"meta":    map[string]any{"current_page": page, "last_page": last, "total": len(match)},
	})
}

func (s *Server) find(id string) (int, *Device) {
	for i, d := range s.devices {
		if d.ID == id {
			return i, d
		}
	}
	return -1, nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, d := s.find(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	writeJSON(w, http.StatusOK, s.deviceJSON(d))
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, d := s.find(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	if st := s.state(d); s.refuseBusyDelete && (st == "queued" || st == "provisioning") {
		writeError(w, http.StatusUnprocessableEntity, "Cannot delete a device while it is provisioning")
		return
	}
	s.devices = slices.Delete(s.devices, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Type string `json:"type"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, d := s.find(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	switch in.Type {
	case "power_off":
		d.off = true
	case "power_on":
		d.off = false
	default:
		writeError(w, http.StatusUnprocessableEntity, "the fake does not do "+in.Type)
		return
	}
	if s.power != nil {
		s.power(d.Hostname, !d.off)
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) deviceJSON(d *Device) map[string]any {
	var keys []any
	for _, k := range d.Keys {
		keys = append(keys, map[string]any{"href": "/metal/v1/ssh-keys/" + k})
	}
	return map[string]any{
		"id":               d.ID,
		"href":             "/metal/v1/devices/" + d.ID,
		"hostname":         d.Hostname,
		"state":            s.state(d),
		"tags":             d.Tags,
		"plan":             map[string]any{"slug": d.Plan},
		"metro":            map[string]any{"code": d.Metro},
		"operating_system": map[string]any{"slug": d.OS},
		"billing_cycle":    "hourly",
		"userdata":         d.UserData,
		"ssh_keys":         keys,
		"created_at":       d.created.UTC().Format(time.RFC3339),
		"ip_addresses": []any{
			map[string]any{"address": d.Public, "address_family": 4, "public": true, "management": true, "cidr": 31},
			map[string]any{"address": "2604:1380:4641::" + strconv.Itoa(s.next), "address_family": 6, "public": true, "management": true, "cidr": 127},
			map[string]any{"address": d.Private, "address_family": 4, "public": false, "management": true, "cidr": 31},
		},
	}
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Label string   `json:"label"`
		Key   string   `json:"key"`
		Tags  []string `json:"tags"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	if len(in.Key) < 12 || in.Key[:4] != "ssh-" {
		writeError(w, http.StatusUnprocessableEntity, "Key is not a valid SSH public key")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &Key{ID: newID(), Label: in.Label, Key: in.Key, Tags: in.Tags}
	s.keys = append(s.keys, k)
	writeJSON(w, http.StatusCreated, keyJSON(k))
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, k := range s.keys {
		out = append(out, keyJSON(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"ssh_keys": out})
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.keys, func(k *Key) bool { return k.ID == r.PathValue("id") })
	if i < 0 {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	s.keys = slices.Delete(s.keys, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

func keyJSON(k *Key) map[string]any {
	return map[string]any{"id": k.ID, "href": "/metal/v1/ssh-keys/" + k.ID, "label": k.Label, "key": k.Key, "tags": k.Tags, "fingerprint": "fa:ke"}
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	slugs := make([]string, 0, len(s.prices))
	for slug := range s.prices {
		slugs = append(slugs, slug)
	}
	slices.Sort(slugs)
	for _, slug := range slugs {
		p := map[string]any{"id": newID(), "slug": slug, "name": slug, "line": "baremetal"}
		if hour := s.prices[slug]; hour >= 0 {
			p["pricing"] = map[string]any{"hour": hour}
		}
		out = append(out, p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plans": out})
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, map[string]any{"errors": []string{msg}})
}

func newID() string {
	return fmt.Sprintf("%s-%s-%s-%s-%s", randHex(4), randHex(2), randHex(2), randHex(2), randHex(6))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
