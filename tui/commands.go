package tui

import (
	"context"
	"os/exec"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
)

// eventBatch is the most events one message carries: enough to keep up
// with a chatty step, few enough to keep the screen lively.
const eventBatch = 256

// waitEvents waits for the engine's next events and hands them over
// together; the screen re-arms it after each batch.
func waitEvents(ch <-chan scenes.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{}
		}
		batch := eventsMsg{ev}
		for len(batch) < eventBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					return batch
				}
				batch = append(batch, ev)
			default:
				return batch
			}
		}
		return batch
	}
}

func tick() tea.Cmd {
	return tea.Tick(refreshEvery, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func runStepCmd(ctx context.Context, e *scenes.Engine, i, j int) tea.Cmd {
	return func() tea.Msg {
		return opDoneMsg{op: opStep, scene: i, step: j, err: e.RunStep(ctx, i, j)}
	}
}

func runSceneCmd(ctx context.Context, e *scenes.Engine, i int) tea.Cmd {
	return func() tea.Msg {
		return opDoneMsg{op: opScene, scene: i, step: -1, err: e.RunScene(ctx, i)}
	}
}

func prepareCmd(ctx context.Context, e *scenes.Engine, i int) tea.Cmd {
	return func() tea.Msg {
		return opDoneMsg{op: opPrepare, scene: i, step: -1, err: e.Reset(ctx, i)}
	}
}

// meshTimeout bounds one question to Options.Mesh.
const meshTimeout = 2 * time.Second

func meshCmd(ctx context.Context, f func(context.Context) (mesh.View, error)) tea.Cmd {
	if f == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, meshTimeout)
		defer cancel()
		v, err := f(ctx)
		return meshMsg{view: v, err: err}
	}
}

// pcapName is the file `w` writes: the time says which capture it is.
func pcapName(dir string, now time.Time) string {
	if dir == "" {
		dir = "."
	}
	return filepath.Join(dir, "zt-lab-"+now.Format("20060102-150405")+".pcap")
}

func writePcapCmd(src labSource, path string) tea.Cmd {
	return func() tea.Msg {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		return pcapDoneMsg{path: path, err: src.WritePcap(path)}
	}
}

// shellCmd suspends the screen while a shell runs on host.
func shellCmd(c *exec.Cmd, host string) tea.Cmd {
	return tea.ExecProcess(c, func(err error) tea.Msg { return shellDoneMsg{host: host, err: err} })
}

// failCmd fails a host (or recovers it, with no mode) through the
// engine, off the screen's goroutine.
func failCmd(src labSource, host string, mode infra.FailMode) tea.Cmd {
	return func() tea.Msg {
		// Powering a cloud machine on and waiting for it to boot takes
		// minutes; everything else, seconds.
		limit := 30 * time.Second
		if lab, ok := src.Lab(); ok && mode == "" {
			for _, h := range lab.Hosts {
				if h.Name == host && h.State == infra.StatePoweredOff {
					limit = 15 * time.Minute
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		var err error
		if mode == "" {
			err = src.Recover(ctx, host)
		} else {
			err = src.Fail(ctx, host, mode)
		}
		return failDoneMsg{host: host, mode: mode, err: err}
	}
}
