// Package mesh runs the lab's Consul service mesh on a lab's hosts: three
// servers and a client agent on every service host, gossip encryption and
// TLS on RPC from material generated here, the fortune service behind
// Connect sidecars (the seeds' 9191), intentions, the identity every
// service carries and a rotation of the CA that signs it. Its control plane
// refuses strangers: ACLs deny by default, zt-lab alone holds the
// management token, and every agent's API listens on its host's loopback,
// where zt-lab reaches it from the host itself (acl.go). Everything it asks
// of Consul goes through github.com/hashicorp/consul/api, and every claim it
// makes comes back as a check.Check with its evidence.
package mesh
