package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/imagectx/conformance/fakeregistry"
)

// lineLogger writes one line per request; Request.String holds no secrets.
type lineLogger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineLogger) log(r fakeregistry.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, "fakeregistry:", r.String())
}
