package kyvernocli

import (
	"context"
	"time"
)

// slot waits for one of the engine's process slots. A CLI start is
// CPU-bound (about 0.5 s of CPU), so running many more at once than there
// are cores only makes every run slower and every deadline tighter.
//
// A caller's deadline is a registry client deadline: it should bound the
// CLI's work, not the wait for a slot. The returned context therefore has
// the caller's remaining time, counted from when the slot was taken; a
// cancellation of the caller's context still ends it at once.
func (e *Engine) slot(ctx context.Context) (context.Context, func(), error) {
	var budget time.Duration
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		budget = time.Until(deadline)
	}
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		if ctx.Err() != context.DeadlineExceeded {
			return nil, nil, ctx.Err()
		}
		// The deadline passed while queued: keep waiting, the budget
		// starts with the slot.
		e.slots <- struct{}{}
	}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if hasDeadline {
		run, cancel = context.WithTimeout(context.WithoutCancel(ctx), budget)
	}
	stop := context.AfterFunc(ctx, func() {
		if ctx.Err() == context.Canceled {
			cancel()
		}
	})
	release := func() {
		stop()
		cancel()
		<-e.slots
	}
	return run, release, nil
}
