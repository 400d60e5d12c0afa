package mesh

import (
	"net/netip"
	"strconv"
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
// on its public listener and an alias of the service it fronts — under IDs
// the lab knows.
func sidecarChecks(serviceID string, listener netip.AddrPort, interval time.Duration) api.AgentServiceChecks {
	return api.AgentServiceChecks{listeningCheck(serviceID, listener, interval, ""), aliasCheck(serviceID)}
}

func listeningCheck(serviceID string, listener netip.AddrPort, interval time.Duration, status string) *api.AgentServiceCheck {
	return &api.AgentServiceCheck{
		CheckID:  sidecarID(serviceID) + ":listening",
		Name:     "Connect Sidecar Listening",
		TCP:      listener.String(),
		Interval: interval.String(),
		Timeout:  time.Second.String(),
		Status:   status,
	}
}

func aliasCheck(serviceID string) *api.AgentServiceCheck {
	return &api.AgentServiceCheck{
		CheckID:      sidecarID(serviceID) + ":alias",
		Name:         "Connect Sidecar Aliasing " + serviceID,
		AliasService: serviceID,
	}
}

// startingCheck holds a sidecar critical from its registration until the
// lab has seen its listener accept a connection, when the TCP check takes
// over, passing from the start (Cluster.deploy). Consul runs a new TCP
// check first at a random point of its interval, and never more often than
// once a second, so leaving it to consul put the first mesh fortune up to
// 10 s (consul's interval) or 2 s (its floor) after the sidecar listened.
func startingCheck(serviceID string) *api.AgentServiceCheck {
	return &api.AgentServiceCheck{
		CheckID: sidecarID(serviceID) + ":starting",
		Name:    "Connect Sidecar Starting",
		Notes:   "critical until zt-lab sees the sidecar's listener accept; then the TCP check replaces it",
		TTL:     "1h",
		Status:  api.HealthCritical,
	}
}

// sidecarEnv is the environment of a sidecar: its agent on loopback, and
// its service's token (never the management token).
func sidecarEnv(token string) []string {
	return []string{"CONSUL_HTTP_ADDR=127.0.0.1:" + strconv.Itoa(HTTPPort), "CONSUL_HTTP_TOKEN=" + token}
}

// SidecarArgv is the command that runs a service's sidecar: consul's
// built-in proxy, configured from the service's registration.
func SidecarArgv(consul, serviceID string) []string {
	return []string{consul, "connect", "proxy", "-sidecar-for", serviceID}
}
