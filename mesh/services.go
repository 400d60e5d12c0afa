package mesh

import (
	"net/netip"
	"time"

	"github.com/hashicorp/consul/api"
)

// The seeds' ports.
const (
	FortunePort = 8181 // the fortune service, plaintext
	MeshPort    = 9191 // fcs's sidecar listens here for mTLS; fcc's sidecar hands out fcs here, on loopback
	// ConsumerSidecarPort is the public listener of a consumer's sidecar.
	// Nothing dials it (a consumer serves nothing), but a sidecar always
	// has one, and its health check looks at it.
	ConsumerSidecarPort = 21000
)

// Service names and registration IDs.
const (
	FortuneService  = "fcs"
	ConsumerService = "fcc"
	// PlaintextID is the seeds' first registration of fcs, before the
	// mesh: the one the secure registration replaces.
	PlaintextID = "fcs-plaintext"
)

// sidecarID is the ID consul gives a service's sidecar registration.
func sidecarID(serviceID string) string { return serviceID + "-sidecar-proxy" }

// PlaintextRegistration registers the fortune service as the seeds first
// do: on the host's address and port 8181, for anyone to dial.
func PlaintextRegistration(addr netip.Addr) *api.AgentServiceRegistration {
	return &api.AgentServiceRegistration{
		ID:      PlaintextID,
		Name:    FortuneService,
		Tags:    []string{"plaintext"},
		Address: addr.String(),
		Port:    FortunePort,
	}
}

// SecureRegistration registers the fortune service behind a sidecar: the
// sidecar's public mTLS listener is on the host's address, port 9191, and it
// hands connections to the service on 127.0.0.1:8181. interval is how
// often the sidecar's checks run at first (see sidecarChecks).
func SecureRegistration(addr netip.Addr, interval time.Duration) *api.AgentServiceRegistration {
	return &api.AgentServiceRegistration{
		ID:   FortuneService,
		Name: FortuneService,
		Port: FortunePort,
		Connect: &api.AgentServiceConnect{
			SidecarService: &api.AgentServiceRegistration{
				Address: addr.String(),
				Port:    MeshPort,
				Proxy: &api.AgentServiceConnectProxyConfig{
					LocalServiceAddress: "127.0.0.1",
					LocalServicePort:    FortunePort,
				},
				Checks: sidecarChecks(FortuneService, netip.AddrPortFrom(addr, MeshPort), interval),
			},
		},
	}
}

// ConsumerRegistration registers a consumer (fcc, or a rogue) with a
// sidecar whose upstream to the fortune service listens on
// 127.0.0.1:localPort: `nc 127.0.0.1 9191` on fcc00 reads a fortune through
// the mesh.
func ConsumerRegistration(name string, addr netip.Addr, localPort int, interval time.Duration) *api.AgentServiceRegistration {
	return &api.AgentServiceRegistration{
		ID:   name,
		Name: name,
		Connect: &api.AgentServiceConnect{
			SidecarService: &api.AgentServiceRegistration{
				Address: addr.String(),
				Port:    ConsumerSidecarPort,
				Proxy: &api.AgentServiceConnectProxyConfig{
					Upstreams: []api.Upstream{{
						DestinationName:  FortuneService,
						LocalBindAddress: "127.0.0.1",
						LocalBindPort:    localPort,
					}},
				},
				Checks: sidecarChecks(name, netip.AddrPortFrom(addr, ConsumerSidecarPort), interval),
			},
		},
	}
}

// sidecarChecks are the checks consul would give a sidecar — a TCP check
// on its public listener and an alias of the service it fronts — but on
// our interval. Consul's is 10 s, and until the first TCP check passes the
// sidecar is not healthy and its upstreams answer "no healthy instances":
// the first mesh fortune came up to 10 s late. The lab runs them every
// second (consul's floor: it raises a shorter interval to 1 s) and slows
// them once they pass (Cluster.slowChecks): every TCP check makes the
// built-in proxy dial the service behind it, which serves a fortune into
// the void.
func sidecarChecks(serviceID string, listener netip.AddrPort, interval time.Duration) api.AgentServiceChecks {
	return api.AgentServiceChecks{
		{
			CheckID:  listeningCheckID(serviceID),
			Name:     "Connect Sidecar Listening",
			TCP:      listener.String(),
			Interval: interval.String(),
			Timeout:  time.Second.String(),
		},
		{
			CheckID:      sidecarID(serviceID) + ":alias",
			Name:         "Connect Sidecar Aliasing " + serviceID,
			AliasService: serviceID,
		},
	}
}

func listeningCheckID(serviceID string) string { return sidecarID(serviceID) + ":listening" }

// listeningCheck is the sidecar's TCP check on its own, to register it
// again with another interval.
func listeningCheck(serviceID string, listener netip.AddrPort, interval time.Duration) *api.AgentCheckRegistration {
	c := sidecarChecks(serviceID, listener, interval)[0]
	return &api.AgentCheckRegistration{
		ID:                c.CheckID,
		Name:              c.Name,
		ServiceID:         sidecarID(serviceID),
		AgentServiceCheck: api.AgentServiceCheck{TCP: c.TCP, Interval: c.Interval, Timeout: c.Timeout},
	}
}

// SidecarArgv is the command that runs a service's sidecar: consul's
// built-in proxy, configured from the service's registration.
func SidecarArgv(consul, serviceID string) []string {
	return []string{consul, "connect", "proxy", "-sidecar-for", serviceID}
}
