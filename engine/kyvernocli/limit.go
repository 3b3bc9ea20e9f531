package kyvernocli

import (
	"context"

	"github.com/imagectx/conformance/engine"
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
	budget := engine.BudgetOf(ctx)
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
	run, cancel := budget.Start(ctx)
	release := func() {
		cancel()
		<-e.slots
	}
	return run, release, nil
}
