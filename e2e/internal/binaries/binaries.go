// Package binaries builds the zt-lab the end-to-end tests drive and finds
// the consul `make consul` built, for every e2e package alike.
package binaries

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds zt-lab from repo (the repository's top directory) into dir,
// with env, and returns its path.
func Build(dir, repo string, env []string) (string, error) {
	out := filepath.Join(dir, "zt-lab")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/zt-lab")
	cmd.Dir = repo
	cmd.Env = append(env, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build zt-lab: %v\n%s", err, b)
	}
	return out, nil
}

// Consul is repo's bin/consul, which `make test` builds first.
func Consul(repo string) (string, error) {
	p, err := filepath.Abs(filepath.Join(repo, "bin", "consul"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("e2e: no bin/consul: run `make consul` (make test does)")
	}
	return p, nil
}
