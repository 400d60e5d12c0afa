package equinix

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/equinix/equinix-sdk-go/services/metalv1"
	"golang.org/x/crypto/ssh"

	"github.com/ztlab/zt-lab/infra"
)

// makeKey makes the lab's own ed25519 key: the private half stays in the
// lab's run directory (0600), the public half becomes a project SSH key,
// tagged like the devices, that every device of the lab installs for root.
func (l *Lab) makeKey(ctx context.Context, u *unsure) error {
	// The private key goes where no other user can reach or swap it: every
	// directory on the way is made private, or refused.
	dirs := []string{l.p.cfg.RunDir, l.dir}
	if l.p.cfg.RunDir == DefaultRunDir() {
		dirs = append([]string{infra.RuntimeDir()}, dirs...)
	}
	for _, d := range dirs {
		if err := infra.MakePrivateDir(d); err != nil {
			return fmt.Errorf("create the lab's run directory: %w", err)
		}
	}
	label := keyLabel(l.id)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, label)
	if err != nil {
		return err
	}
	keyFile := filepath.Join(l.dir, "id_ed25519")
	if err := writeNew(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("save the lab's SSH key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + label
	if err := writeNew(keyFile+".pub", []byte(authorized+"\n"), 0o644); err != nil {
		return fmt.Errorf("save the lab's SSH key: %w", err)
	}

	p := l.p
	in := metalv1.SSHKeyCreateInput{Label: &label, Key: &authorized, Tags: []string{TagAll, LabTag(l.id)}}
	key, maybe, err := create(ctx, p.c, "create SSH key "+label,
		func(ctx context.Context) (*metalv1.SSHKey, *http.Response, error) {
			return p.c.api.SSHKeysApi.CreateProjectSSHKey(ctx, p.c.project).SSHKeyCreateInput(in).Execute()
		},
		func(ctx context.Context) (*metalv1.SSHKey, bool, error) {
			keys, err := p.listKeys(ctx)
			if err != nil {
				return nil, false, err
			}
			for _, k := range keys {
				if k.GetLabel() == label || slices.Contains(k.Tags, LabTag(l.id)) {
					return &k, true, nil
				}
			}
			return nil, false, nil
		})
	if err != nil {
		if maybe {
			u.addKey()
		}
		return err
	}
	l.keyID = key.GetId()
	l.keyFile = keyFile
	return nil
}

// writeNew writes a file that must not exist yet, with perm from the start
// rather than after a chmod.
func writeNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
