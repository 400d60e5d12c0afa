package scenes

import (
	"context"
	"fmt"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/sniffer"
)

// sceneMITM sniffs the wire while the consumer fetches, and reads the
// fortune in the clear.
func sceneMITM() Scene {
	return Scene{
		ID: "mitm", Title: "Man in the middle", Panel: PanelSniffer,
		Needs: StageFortune, Reaches: StageFortune,
		Steps: []Step{{
			Title: "Sniff the wire while fcc00 fetches fortunes",
			Shell: "tcpdump -i wire0 -X port 8181",
			Do: func(ctx context.Context, env *Env) error {
				if err := env.StartSniffer(); err != nil {
					return err
				}
				for range 3 {
					if _, err := env.Consume(ctx, ConsumerHost, fmt.Sprintf("%s:%d", ServiceHost, FortunePort)); err != nil {
						return err
					}
				}
				return nil
			},
			Verify: func(ctx context.Context, env *Env) check.Check {
				return env.checkWire(ctx, "the sniffer read the fortune in the clear", ConsumerHost, ServiceHost, FortunePort, sniffer.Plaintext)
			},
		}},
	}
}
