package celpolicy

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyverno/kyverno/pkg/cel/libs"
)

// One context at a time: holders of the same context share
// libs.LibraryContext, another context waits until they have all
// released, and the value is the holder's all along.
func TestContextLock(t *testing.T) {
	l := newContextLock()
	a, b := libs.NewFakeContextProvider(), libs.NewFakeContextProvider()
	releaseA1 := l.hold(a)
	releaseA2 := l.hold(a) // shares: does not block
	if libs.LibraryContext != libs.Context(a) {
		t.Fatal("held a, LibraryContext is not a")
	}
	var gotB atomic.Bool
	done := make(chan struct{})
	go func() {
		release := l.hold(b)
		gotB.Store(true)
		if libs.LibraryContext != libs.Context(b) {
			t.Error("held b, LibraryContext is not b")
		}
		release()
		close(done)
	}()
	releaseA1()
	time.Sleep(50 * time.Millisecond)
	if gotB.Load() {
		t.Fatal("b was held while a still had a holder")
	}
	releaseA2()
	releaseA2() // releasing twice is once
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("b never got the lock after a was released")
	}
}
