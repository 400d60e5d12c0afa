//go:build !linux

package mallory

import (
	"context"
	"errors"
)

// Run needs Linux: AF_PACKET sockets and policy routing.
func (a *Attack) Run(context.Context) error {
	return errors.New("mallory runs on Linux only")
}
