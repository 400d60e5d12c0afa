//go:build !unix

package infra

import "io/fs"

// FileOwner is unknown where files have no uid (Windows): the lab's runtime
// directory is Linux's, and there the check is made.
func FileOwner(fs.FileInfo) (int, bool) { return 0, false }
