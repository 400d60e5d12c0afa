// Package equinix builds a lab's hosts as Equinix Metal bare-metal devices,
// the seeds' five c3.small.x86 servers, through the Metal API. Everything
// a lab creates carries the lab's tag, and teardown deletes by that tag, so
// no local state is needed to find a lab's devices again.
package equinix

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/equinix/equinix-sdk-go/services/metalv1"

	"github.com/ztlab/zt-lab/infra"
)

// TagAll is on every device and key zt-lab creates; LabTag(id) names the
// lab it belongs to.
const TagAll = "zt-lab"

// LabTag is the tag of everything lab id creates.
func LabTag(id string) string { return TagAll + ":" + id }

func keyLabel(id string) string { return "zt-lab-" + id }

// Errors for calls that need the API but lack what it takes.
var (
	ErrNoToken   = errors.New("no Equinix Metal token: export " + EnvToken + " (an API token from the Metal console)")
	ErrNoProject = errors.New("no Equinix Metal project: --project UUID, project_id in the config file, or " + EnvProject)
)

// Provider builds labs on Equinix Metal.
type Provider struct {
	cfg Config
	c   *client
}

var _ infra.Provider = (*Provider)(nil)

// New checks cfg and returns a provider for it. A missing token or project
// is reported by the calls that need them, so a dry run works without.
func New(cfg Config) (*Provider, error) {
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.RunDir == "" {
		cfg.RunDir = DefaultRunDir()
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Timing = cfg.Timing.withDefaults()
	return &Provider{cfg: cfg, c: newClient(cfg)}, nil
}

// Config is the provider's configuration, token included (it prints as
// [redacted]).
func (p *Provider) Config() Config { return p.cfg }

// Check says what is missing before anything is asked of the API: the
// token, the project. Call it before telling the user what will be made.
func (p *Provider) Check() error { return p.reachable() }

func (p *Provider) reachable() error {
	if p.cfg.Token == "" {
		return ErrNoToken
	}
	if p.cfg.Project == "" {
		return ErrNoProject
	}
	return nil
}

var labIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ErrBadLabID is a lab id `up` could not have printed.
var ErrBadLabID = errors.New("not a lab id")

func checkLabID(id string) error {
	if !labIDRE.MatchString(id) {
		return fmt.Errorf("lab id %q: %w: give the id `up` printed, e.g. 3f9a0c12 (`zt-lab down --provider equinix` without --lab lists them)", id, ErrBadLabID)
	}
	return nil
}

func newID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Up creates the lab's SSH key, then every host of t as a device, all at
// once, and waits until each is active, reporting each host's state as it
// changes. progress may be called from several goroutines at once.
//
// When Up fails or ctx ends, Up deletes whatever it created before it
// returns — also devices whose create call got no answer, found by the
// lab's tag — so an interrupted up leaves nothing billable. Metal refuses
// to delete a device while it provisions, so that can take minutes (at
// most Timing.Cleanup); the error names the lab in case anything remains.
func (p *Provider) Up(ctx context.Context, t infra.Topology, progress func(infra.Event)) (infra.Lab, error) {
	l, err := p.UpLab(ctx, t, progress)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// UpLab is Up returning the Metal lab itself, for callers that need its
// SSH targets.
func (p *Provider) UpLab(ctx context.Context, t infra.Topology, progress func(infra.Event)) (_ *Lab, err error) {
	start := time.Now()
	if progress == nil {
		progress = func(infra.Event) {}
	}
	if err := p.reachable(); err != nil {
		return nil, err
	}
	if len(t.Hosts) == 0 {
		return nil, errors.New("the topology has no hosts")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	l := newLab(p, newID(), start)
	u := &unsure{}
	defer func() {
		if err != nil {
			err = p.abandon(ctx, l, u, err, progress)
		}
	}()
	if err := l.makeKey(ctx, u); err != nil {
		return nil, err
	}
	progress(infra.Event{Step: "ssh key", Elapsed: time.Since(start)})
	hosts, err := l.launchAll(ctx, t.Hosts, u, progress)
	if err != nil {
		return nil, err
	}
	l.hosts = hosts
	if err := p.removeStrays(ctx, l, progress); err != nil {
		return nil, err
	}
	progress(infra.Event{Step: "ready", Done: true, Elapsed: time.Since(start)})
	return l, nil
}

// abandon tears down a lab whose up failed, on a context of its own: the
// caller's may be the reason it failed.
func (p *Provider) abandon(ctx context.Context, l *Lab, u *unsure, cause error, progress func(infra.Event)) error {
	if l.keyID == "" && !u.wantsKey() {
		// The key comes first, and was refused: nothing exists on Metal.
		_ = os.RemoveAll(l.dir)
		return p.c.redact(cause)
	}
	progress(infra.Event{Step: "cleaning up", Err: p.c.redact(cause), Elapsed: time.Since(l.started)})
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timing.Cleanup)
	defer cancel()
	if err := p.destroy(cctx, l.id, u, nil, progress); err != nil {
		return p.c.redact(fmt.Errorf("%w; cleaning up failed too: %v; `zt-lab down --provider equinix --lab %s` deletes what is left", cause, err, l.id))
	}
	return p.c.redact(fmt.Errorf("%w (lab %s: nothing left behind)", cause, l.id))
}

// unsure collects creates whose outcome is unknown: the server may have
// made them without the client hearing of it.
type unsure struct {
	mu    sync.Mutex
	hosts []string
	key   bool
}

func (u *unsure) addHost(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.hosts = append(u.hosts, name)
}

func (u *unsure) addKey() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.key = true
}

// missingHosts lists the unsure hosts not in seen.
func (u *unsure) missingHosts(seen map[string]bool) []string {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, h := range u.hosts {
		if !seen[h] {
			out = append(out, "device "+h)
		}
	}
	return out
}

func (u *unsure) wantsKey() bool {
	if u == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.key
}

// launchAll creates and waits for every host in parallel. The first
// failure stops the others: the lab is all or nothing.
func (l *Lab) launchAll(ctx context.Context, specs []infra.HostSpec, u *unsure, progress func(infra.Event)) ([]*Host, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hosts := make([]*Host, len(specs))
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := l.launch(ctx, spec, u, progress)
			if err != nil {
				once.Do(func() {
					first = err
					cancel()
				})
				return
			}
			hosts[i] = h
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return hosts, nil
}

// launch creates one device and waits for it to be active.
func (l *Lab) launch(ctx context.Context, spec infra.HostSpec, u *unsure, progress func(infra.Event)) (*Host, error) {
	p := l.p
	req := l.deviceRequest(spec)
	d, maybe, err := create(ctx, p.c, "create device "+spec.Name,
		func(ctx context.Context) (*metalv1.Device, *http.Response, error) {
			return p.c.api.DevicesApi.CreateDevice(ctx, p.c.project).CreateDeviceRequest(req).Execute()
		},
		func(ctx context.Context) (*metalv1.Device, bool, error) { return p.findDevice(ctx, l.id, spec.Name) })
	if err != nil {
		if maybe {
			u.addHost(spec.Name)
		}
		progress(infra.Event{Host: spec.Name, Step: "create", Err: p.c.redact(err), Elapsed: time.Since(l.started)})
		return nil, err
	}
	progress(infra.Event{Host: spec.Name, Step: "created", Elapsed: time.Since(l.started)})
	d, err = p.waitActive(ctx, spec.Name, d.GetId(), l.started, progress)
	if err != nil {
		progress(infra.Event{Host: spec.Name, Step: "wait", Err: p.c.redact(err), Elapsed: time.Since(l.started)})
		return nil, err
	}
	return newHost(l, spec, d), nil
}

// Terminates is when Metal deletes the lab's devices by itself: the lab's
// start plus Config.Lifetime.
func (l *Lab) Terminates() time.Time {
	return l.started.Add(l.p.cfg.Lifetime).UTC().Truncate(time.Second)
}

func (l *Lab) deviceRequest(spec infra.HostSpec) metalv1.CreateDeviceRequest {
	cfg := l.p.cfg
	name := spec.Name
	ud := l.userData(spec)
	desc := fmt.Sprintf("zt-lab lab %s: %s", l.id, spec.Role)
	hourly := metalv1.DEVICECREATEINPUTBILLINGCYCLE_HOURLY
	in := metalv1.DeviceCreateInMetroInput{
		Metro:           cfg.Metro,
		Plan:            cfg.Plan,
		OperatingSystem: cfg.OS,
		Hostname:        &name,
		Description:     &desc,
		BillingCycle:    &hourly,
		// The tags go in the create call itself: there is no moment when
		// a device exists that teardown could not find.
		Tags:           []string{TagAll, LabTag(l.id)},
		Userdata:       &ud,
		ProjectSshKeys: []string{l.keyID},
	}
	// A killed zt-lab runs no down: Metal deletes the device itself.
	end := l.Terminates()
	in.TerminationTime = &end
	return metalv1.DeviceCreateInMetroInputAsCreateDeviceRequest(&in)
}

// waitActive reads the device until it is active, reporting each new state.
func (p *Provider) waitActive(ctx context.Context, name, id string, started time.Time, progress func(infra.Event)) (*metalv1.Device, error) {
	deadline := time.Now().Add(p.cfg.Timing.Ready)
	last := ""
	// Reads start often and slow down to Timing.Poll: a device that is
	// quick (or a power-on) is seen soon, a slow one costs few calls.
	poll := p.cfg.Timing.Poll / 8
	for ; ; poll = min(2*poll, p.cfg.Timing.Poll) {
		d, err := p.device(ctx, name, id)
		switch statusOf(err) {
		case http.StatusForbidden, http.StatusNotFound:
			// Metal moves a device that failed to provision out of the
			// project, and then answers 403 or 404 for it.
			return nil, fmt.Errorf("%s failed to provision: the device left the project (Metal answered %d for it)", name, statusOf(err))
		}
		if err != nil {
			return nil, err
		}
		state := d.GetState()
		step := string(state)
		if state == metalv1.DEVICESTATE_PROVISIONING && d.ProvisioningPercentage != nil {
			step = fmt.Sprintf("provisioning %.0f%%", *d.ProvisioningPercentage)
		}
		if step != last {
			progress(infra.Event{Host: name, Step: step, Done: state == metalv1.DEVICESTATE_ACTIVE, Elapsed: time.Since(started)})
			last = step
		}
		switch state {
		case metalv1.DEVICESTATE_ACTIVE:
			return d, nil
		case metalv1.DEVICESTATE_FAILED:
			return nil, fmt.Errorf("%s failed to provision (device %s is in state failed)", name, id)
		case metalv1.DEVICESTATE_DEPROVISIONING, metalv1.DEVICESTATE_DELETED:
			return nil, fmt.Errorf("%s is being deleted by someone else (device %s)", name, id)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("%s is still %s after %s: giving up on it", name, state, p.cfg.Timing.Ready)
		}
		if err := sleep(ctx, min(poll, left)); err != nil {
			return nil, fmt.Errorf("wait for %s: %w", name, err)
		}
	}
}

func (p *Provider) device(ctx context.Context, name, id string) (*metalv1.Device, error) {
	return call(ctx, p.c, "read device "+name, func(ctx context.Context) (*metalv1.Device, *http.Response, error) {
		return p.c.api.DevicesApi.FindDeviceById(ctx, id).Execute()
	})
}

// listDevices lists the project's devices carrying tag, every page. The
// tag is checked here too: a filter the server ignored must not make
// zt-lab delete someone else's device.
func (p *Provider) listDevices(ctx context.Context, tag string) ([]metalv1.Device, error) {
	var out []metalv1.Device
	for page := int32(1); page <= 1000; page++ {
		list, err := call(ctx, p.c, "list devices", func(ctx context.Context) (*metalv1.DeviceList, *http.Response, error) {
			return p.c.api.DevicesApi.FindProjectDevices(ctx, p.c.project).Tag(tag).Page(page).PerPage(100).Execute()
		})
		if err != nil {
			return nil, err
		}
		for _, d := range list.Devices {
			if slices.Contains(d.Tags, tag) {
				out = append(out, d)
			}
		}
		if list.Meta == nil || list.Meta.GetLastPage() <= page || len(list.Devices) == 0 {
			break
		}
	}
	return out, nil
}

// findDevice looks for the lab's device with this hostname.
func (p *Provider) findDevice(ctx context.Context, labID, hostname string) (*metalv1.Device, bool, error) {
	devs, err := p.listDevices(ctx, LabTag(labID))
	if err != nil {
		return nil, false, err
	}
	for _, d := range devs {
		if d.GetHostname() == hostname && !gone(d.GetState()) {
			return &d, true, nil
		}
	}
	return nil, false, nil
}

func gone(s metalv1.DeviceState) bool {
	return s == metalv1.DEVICESTATE_DEPROVISIONING || s == metalv1.DEVICESTATE_DELETED
}

// busy states end on their own; Metal refuses to delete a device in them.
func busy(s metalv1.DeviceState) bool {
	switch s {
	case metalv1.DEVICESTATE_QUEUED, metalv1.DEVICESTATE_PROVISIONING, metalv1.DEVICESTATE_REINSTALLING,
		metalv1.DEVICESTATE_POWERING_ON, metalv1.DEVICESTATE_POWERING_OFF:
		return true
	}
	return false
}

// removeStrays deletes the lab's devices that are not its hosts: a second
// device made by a create that was retried after the first one's reply
// was lost too late for the search to see it.
func (p *Provider) removeStrays(ctx context.Context, l *Lab, progress func(infra.Event)) error {
	devs, err := p.listDevices(ctx, LabTag(l.id))
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, h := range l.hosts {
		keep[h.deviceID] = true
	}
	var errs []error
	for _, d := range devs {
		if !keep[d.GetId()] && !gone(d.GetState()) {
			errs = append(errs, p.deleteDevice(ctx, d, progress))
		}
	}
	return errors.Join(errs...)
}

// Down deletes every device and SSH key tagged with the lab's id, found by
// listing the project: it needs nothing from the run that built the lab.
// A lab that is already gone is not an error.
func (p *Provider) Down(ctx context.Context, labID string) error {
	return p.DownWithProgress(ctx, labID, nil)
}

// DownWithProgress is Down reporting each device as it is deleted, and
// the waits for devices Metal will not delete while they provision.
func (p *Provider) DownWithProgress(ctx context.Context, labID string, progress func(infra.Event)) error {
	if err := checkLabID(labID); err != nil {
		return err
	}
	if err := p.reachable(); err != nil {
		return err
	}
	if progress == nil {
		progress = func(infra.Event) {}
	}
	return p.c.redact(p.destroy(ctx, labID, nil, nil, progress))
}

// destroy deletes the lab's devices and then its keys, or with which only
// the lab's devices which picks, and no key. For creates whose outcome is
// unknown (u), it keeps looking for up to Timing.Settle: the server may
// still be making them. Keys go last, so that a create still on its way
// succeeds, and carries the tag that finds it, rather than failing half
// way for want of its key.
func (p *Provider) destroy(ctx context.Context, id string, u *unsure, which func(metalv1.Device) bool, progress func(infra.Event)) error {
	whole := which == nil
	if whole {
		which = func(metalv1.Device) bool { return true }
	}
	until := time.Now().Add(p.cfg.Timing.Settle)
	seen := map[string]bool{}
	err := p.settle(ctx, until, progress, func() ([]string, error) {
		if err := p.deleteDevices(ctx, id, which, seen, progress); err != nil {
			return nil, err
		}
		return u.missingHosts(seen), nil
	})
	if err != nil || !whole {
		return err
	}
	keySeen := false
	err = p.settle(ctx, until, progress, func() ([]string, error) {
		n, err := p.deleteKeys(ctx, id)
		keySeen = keySeen || n > 0
		if err != nil {
			return nil, err
		}
		if u.wantsKey() && !keySeen {
			return []string{"the SSH key"}, nil
		}
		return nil, nil
	})
	if err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(p.cfg.RunDir, id)); err != nil {
		return fmt.Errorf("remove the lab's key: %w", err)
	}
	return nil
}

// settle repeats round until it misses nothing, or until the time is up:
// what has not appeared by then was most likely never made.
func (p *Provider) settle(ctx context.Context, until time.Time, progress func(infra.Event), round func() ([]string, error)) error {
	for {
		missing, err := round()
		if err != nil || len(missing) == 0 {
			return err
		}
		if time.Now().After(until) {
			progress(infra.Event{Step: fmt.Sprintf("never found %s: the create got no answer and nothing appeared with the lab's tag in %s", strings.Join(missing, ", "), p.cfg.Timing.Settle)})
			return nil
		}
		if err := sleep(ctx, min(p.cfg.Timing.Poll, 3*time.Second)); err != nil {
			return fmt.Errorf("look for %s: %w", strings.Join(missing, ", "), err)
		}
	}
}

// deleteDevices deletes, in parallel, the lab's devices which picks, and
// notes their hostnames in seen.
func (p *Provider) deleteDevices(ctx context.Context, id string, which func(metalv1.Device) bool, seen map[string]bool, progress func(infra.Event)) error {
	devs, err := p.listDevices(ctx, LabTag(id))
	if err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, d := range devs {
		if !which(d) {
			continue
		}
		seen[d.GetHostname()] = true
		if gone(d.GetState()) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.deleteDevice(ctx, d, progress); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// deleteDevice deletes one device, waiting while Metal refuses because the
// device is still provisioning.
func (p *Provider) deleteDevice(ctx context.Context, d metalv1.Device, progress func(infra.Event)) error {
	name, id := d.GetHostname(), d.GetId()
	waiting, refusedIdle := false, false
	for {
		_, err := call(ctx, p.c, "delete device "+name, noValue(func(ctx context.Context) (*http.Response, error) {
			return p.c.api.DevicesApi.DeleteDevice(ctx, id).Execute()
		}))
		switch statusOf(err) {
		case 0:
			if err != nil {
				return err
			}
			progress(infra.Event{Host: name, Step: "deleted"})
			return nil
		case http.StatusNotFound:
			return nil
		case http.StatusUnprocessableEntity, http.StatusConflict:
			cur, gerr := p.device(ctx, name, id)
			if statusOf(gerr) == http.StatusNotFound {
				return nil
			}
			if gerr != nil {
				return err
			}
			if !busy(cur.GetState()) {
				// It may have just finished provisioning: one more try.
				if refusedIdle {
					return err
				}
				refusedIdle = true
				continue
			}
			refusedIdle = false
			if !waiting {
				progress(infra.Event{Host: name, Step: fmt.Sprintf("%s: Metal deletes it once that ends", cur.GetState())})
				waiting = true
			}
			if serr := sleep(ctx, p.cfg.Timing.Poll); serr != nil {
				return fmt.Errorf("delete device %s: still %s: %w", name, cur.GetState(), serr)
			}
		default:
			return err
		}
	}
}

// deleteKeys deletes the lab's SSH keys and says how many there were.
func (p *Provider) deleteKeys(ctx context.Context, id string) (int, error) {
	keys, err := p.listKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, k := range keys {
		if !slices.Contains(k.Tags, LabTag(id)) && k.GetLabel() != keyLabel(id) {
			continue
		}
		n++
		kid := k.GetId()
		_, err := call(ctx, p.c, "delete SSH key "+k.GetLabel(), noValue(func(ctx context.Context) (*http.Response, error) {
			return p.c.api.SSHKeysApi.DeleteSSHKey(ctx, kid).Execute()
		}))
		if err != nil && statusOf(err) != http.StatusNotFound {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

func (p *Provider) listKeys(ctx context.Context) ([]metalv1.SSHKey, error) {
	list, err := call(ctx, p.c, "list SSH keys", func(ctx context.Context) (*metalv1.SSHKeyList, *http.Response, error) {
		return p.c.api.SSHKeysApi.FindProjectSSHKeys(ctx, p.c.project).Execute()
	})
	if err != nil {
		return nil, err
	}
	return list.SshKeys, nil
}

// LabSummary is a lab found in the project by its tags.
type LabSummary struct {
	ID    string
	Hosts []string // hostnames of its devices
	Keys  int      // its SSH keys
}

// Labs lists the zt-lab labs in the project, found by their tags: what a
// crashed zt-lab left behind shows here too.
func (p *Provider) Labs(ctx context.Context) ([]LabSummary, error) {
	if err := p.reachable(); err != nil {
		return nil, err
	}
	devs, err := p.listDevices(ctx, TagAll)
	if err != nil {
		return nil, p.c.redact(err)
	}
	keys, err := p.listKeys(ctx)
	if err != nil {
		return nil, p.c.redact(err)
	}
	labs := map[string]*LabSummary{}
	get := func(id string) *LabSummary {
		if labs[id] == nil {
			labs[id] = &LabSummary{ID: id}
		}
		return labs[id]
	}
	for _, d := range devs {
		for _, t := range d.Tags {
			if id, ok := strings.CutPrefix(t, TagAll+":"); ok && id != "" {
				get(id).Hosts = append(get(id).Hosts, d.GetHostname())
			}
		}
	}
	for _, k := range keys {
		for _, t := range k.Tags {
			if id, ok := strings.CutPrefix(t, TagAll+":"); ok && id != "" {
				get(id).Keys++
			}
		}
	}
	var out []LabSummary
	for _, l := range labs {
		sort.Strings(l.Hosts)
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ErrNoLab is the error of Attach for a lab with no device in the project.
var ErrNoLab = errors.New("no such lab")

// Attach finds a running lab again by its tag, from another process: its
// hosts from the project's devices, its key from the run directory when
// this machine made the lab (KeyFile is empty otherwise). A device that is
// powered off shows as crashed.
func (p *Provider) Attach(ctx context.Context, labID string) (*Lab, error) {
	if err := checkLabID(labID); err != nil {
		return nil, err
	}
	if err := p.reachable(); err != nil {
		return nil, err
	}
	devs, err := p.listDevices(ctx, LabTag(labID))
	if err != nil {
		return nil, p.c.redact(err)
	}
	devs = slices.DeleteFunc(devs, func(d metalv1.Device) bool { return gone(d.GetState()) })
	if len(devs) == 0 {
		return nil, fmt.Errorf("lab %s: %w in project %s (`zt-lab down --provider equinix` lists the labs there)", labID, ErrNoLab, p.cfg.Project)
	}
	order := map[infra.Role]int{infra.RoleConsul: 0, infra.RoleService: 1, infra.RoleConsumer: 2, infra.RoleOther: 3}
	sort.SliceStable(devs, func(i, j int) bool {
		ri, rj := order[infra.RoleOf(devs[i].GetHostname())], order[infra.RoleOf(devs[j].GetHostname())]
		if ri != rj {
			return ri < rj
		}
		return devs[i].GetHostname() < devs[j].GetHostname()
	})
	started := time.Now()
	for _, d := range devs {
		if t := d.GetCreatedAt(); !t.IsZero() && t.Before(started) {
			started = t
		}
	}
	l := newLab(p, labID, started)
	if kf := filepath.Join(l.dir, "id_ed25519"); fileExists(kf) {
		l.keyFile = kf
	}
	for _, d := range devs {
		h := newHost(l, infra.HostSpec{Name: d.GetHostname(), Role: infra.RoleOf(d.GetHostname())}, &d)
		if d.GetState() == metalv1.DEVICESTATE_INACTIVE {
			h.powered, h.state = false, infra.StateCrashed
		}
		l.hosts = append(l.hosts, h)
	}
	return l, nil
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
