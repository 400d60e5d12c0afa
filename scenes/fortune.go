package scenes

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ztlab/zt-lab/check"
)

// sceneFortune starts the plaintext Fortune Cookie Service and has the
// consumer fetch a fortune from it.
func sceneFortune() Scene {
	return Scene{
		ID: "fortune", Title: "The Fortune Cookie Service", Panel: PanelConsumer,
		Needs: StageHosts, Reaches: StageFortune,
		Steps: []Step{
			{
				Title: "Start the fortune service on fcs00:8181",
				Shell: "socat -v tcp-l:8181,bind=0,fork exec:/usr/games/fortune",
				Do: func(ctx context.Context, env *Env) error {
					return env.StartFortune(ctx, ServiceHost, "0.0.0.0")
				},
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkListening(ctx, ServiceHost, "0.0.0.0")
				},
			},
			{
				Title: "fcc00 asks fcs00 for a fortune",
				Shell: "nc fcs00 8181",
				Do: func(ctx context.Context, env *Env) error {
					_, err := env.Consume(ctx, ConsumerHost, fmt.Sprintf("%s:%d", ServiceHost, FortunePort))
					return err
				},
				Verify: checkConsumerGotServed,
			},
		},
	}
}

// checkConsumerGotServed proves the consumer's last fortune is one the
// service sent.
func checkConsumerGotServed(ctx context.Context, env *Env) check.Check {
	const name = "consumer received a fortune"
	got := env.state().lastFortune
	if got == "" {
		return check.Failf(name, "the consumer printed nothing")
	}
	// The service reports what it sent a moment after sending it.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := waitUntil(ctx, 10*time.Millisecond, func() bool { return slices.Contains(env.Served(), got) }); err != nil {
		return check.Failf(name, "the consumer printed %q, which the service never served", firstLine(got))
	}
	return check.Check{Name: name, Pass: true, Evidence: append([]string{"fcc00 printed what fcs00 served:"}, indent(got)...)}
}
