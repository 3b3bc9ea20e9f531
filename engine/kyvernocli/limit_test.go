package kyvernocli

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSlotBudgetStartsWithTheSlot(t *testing.T) {
	e := &Engine{slots: make(chan struct{}, 1)}
	_, release, err := e.slot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	type got struct {
		run     context.Context
		release func()
		err     error
		at      time.Time
	}
	ch := make(chan got)
	go func() {
		run, rel, err := e.slot(ctx)
		ch <- got{run, rel, err, time.Now()}
	}()
	time.Sleep(150 * time.Millisecond) // the caller's deadline passes while queued
	release()
	g := <-ch
	if g.err != nil {
		t.Fatalf("queued caller: %v", g.err)
	}
	defer g.release()
	if g.run.Err() != nil {
		t.Fatalf("run context already done: %v", g.run.Err())
	}
	dl, ok := g.run.Deadline()
	if !ok {
		t.Fatal("run context has no deadline")
	}
	if left := dl.Sub(g.at); left < 20*time.Millisecond || left > 60*time.Millisecond {
		t.Errorf("budget after the slot = %s, want about 50ms", left)
	}
}

func TestSlotCancellation(t *testing.T) {
	e := &Engine{slots: make(chan struct{}, 1)}
	_, release, err := e.slot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, _, err := e.slot(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("queued and cancelled: err = %v", err)
	}
	release()

	ctx, cancel = context.WithCancel(context.Background())
	run, release, err := e.slot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	cancel()
	select {
	case <-run.Done():
	case <-time.After(time.Second):
		t.Fatal("cancelling the caller did not end the run context")
	}
}
