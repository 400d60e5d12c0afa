package mesh

import (
	"context"
	"net/netip"
	"testing"

	"github.com/hashicorp/consul/api"
)

// plaintextConsul is the cluster as the agents scene leaves it: fcs
// registered on fcs00 as the seeds first do, no sidecar anywhere.
func plaintextConsul() *consulState {
	st := goodConsul()
	reg := PlaintextRegistration(netip.MustParseAddr("198.18.0.20"))
	st.hostServices = map[string]map[string]*api.AgentService{
		"fcs00": {PlaintextID: {ID: reg.ID, Service: reg.Name, Tags: reg.Tags, Address: reg.Address, Port: reg.Port}},
		"fcc00": {},
	}
	st.catalog = map[string][]*api.CatalogService{FortuneService: {{
		Node: "fcs00", Address: reg.Address, ServiceID: reg.ID, ServiceName: reg.Name,
		ServiceAddress: reg.Address, ServicePort: reg.Port, ServiceTags: reg.Tags,
	}}}
	return st
}

func TestCheckPlaintextRegistered(t *testing.T) {
	fcs := func(s *consulState) *api.AgentService { return s.hostServices["fcs00"][PlaintextID] }
	for _, tc := range []struct {
		name   string
		break_ func(*consulState)
		pass   bool
		why    []string
	}{
		{"fcs registered as it is", func(*consulState) {}, true,
			[]string{"fcs00's agent: fcs-plaintext (fcs) at 198.18.0.20:8181, plain, no Connect",
				"catalog: fcs on fcs00 at 198.18.0.20:8181, tags [plaintext]",
				"catalog: 0 Connect-capable instances of fcs: no sidecar, not native"}},
		{"the agent never got the registration", func(s *consulState) { delete(s.hostServices["fcs00"], PlaintextID) }, false,
			[]string{"fcs00's agent does not hold fcs-plaintext (it holds none)"}},
		{"registered on another port", func(s *consulState) { fcs(s).Port = 9191 }, false,
			[]string{"fcs00's agent holds fcs-plaintext at 198.18.0.20:9191, not 198.18.0.20:8181"}},
		{"registered Connect-native", func(s *consulState) { fcs(s).Connect = &api.AgentServiceConnect{Native: true} }, false,
			[]string{"with Connect (native true, sidecar false)"}},
		{"a sidecar already fronts fcs on the agent", func(s *consulState) {
			s.hostServices["fcs00"][sidecarID(FortuneService)] = &api.AgentService{ID: sidecarID(FortuneService), Service: sidecarID(FortuneService),
				Kind: api.ServiceKindConnectProxy, Port: MeshPort, Proxy: &api.AgentServiceConnectProxyConfig{DestinationServiceName: FortuneService}}
		}, false,
			[]string{"fcs00's agent holds fcs-sidecar-proxy, a sidecar for fcs"}},
		{"the catalog has not heard of it", func(s *consulState) { s.catalog = nil }, false,
			[]string{"catalog: no fcs-plaintext on fcs00 (0 instances listed)"}},
		{"the catalog lists it elsewhere", func(s *consulState) { s.catalog[FortuneService][0].ServicePort = 8080 }, false,
			[]string{"catalog: fcs on fcs00 is at 198.18.0.20:8080, not 198.18.0.20:8181"}},
		{"the catalog routes fcs through the mesh", func(s *consulState) {
			s.connect = map[string][]*api.CatalogService{FortuneService: {{Node: "fcs00", ServiceID: sidecarID(FortuneService), ServiceName: sidecarID(FortuneService)}}}
		}, false,
			[]string{"catalog: Connect-capable fcs-sidecar-proxy (fcs-sidecar-proxy) on fcs00: the service is already in the mesh"}},
		{"the catalog does not answer", func(s *consulState) { s.broken = map[string]bool{"/v1/catalog/service/fcs": true} }, false,
			[]string{"catalog of fcs:", "500"}},
		{"the agent does not answer", func(s *consulState) { s.broken = map[string]bool{"/v1/agent/services": true} }, false,
			[]string{"fcs00's agent: services:", "500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := plaintextConsul()
			st.set(tc.break_)
			c := newCheckedCluster(t, st)
			requireCheck(t, c.CheckPlaintextRegistered(context.Background()), tc.pass, tc.why...)
		})
	}
}
