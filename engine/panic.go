package engine

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
)

// StatusPanic is not one of Kyverno's statuses: it is what a spec sees when
// the engine under test panicked during the evaluation (a *PanicError).
// A row expecting it pins a crash (kyverno/kyverno #16978 on v1.19.1); its
// message is the panic value.
const StatusPanic Status = "panic"

// maxPanicFrames is how many frames a PanicError keeps: enough to name the
// Kyverno function and its callers, short enough for a results file.
const maxPanicFrames = 8

// PanicError is an evaluation that ended in a panic of the engine under
// test, in process (recovered) or in a CLI process (its stderr read). The
// harness reports it as that evaluation's result and goes on.
type PanicError struct {
	// Value is the panic value as the Go runtime prints it after "panic: "
	// ("interface conversion: interface {} is float64, not string"); in
	// process fmt.Sprint of the value (the same for an error or a string;
	// from a CLI's stderr only its first line).
	Value string `json:"value"`
	// Frames are the first frames from where it panicked, innermost first:
	// "<function> <file>:<line>", the file relative to the module cache
	// ("github.com/kyverno/kyverno@v1.19.1/pkg/...").
	Frames []string `json:"frames,omitempty"`
}

func (e *PanicError) Error() string { return "engine panicked: " + e.Value }

// Recovered builds the PanicError for v, a value recover() returned; call it
// from the deferred function that recovered, so that the stack still holds
// the panicking frames. The runtime's own frames (gopanic, the type
// assertion helpers) and the recovering function are left out.
func Recovered(v any) *PanicError {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs) // runtime.Callers, Recovered, the deferred function
	frames := runtime.CallersFrames(pcs[:n])
	var out []string
	for len(out) < maxPanicFrames {
		f, more := frames.Next()
		// gopanic called the deferred function; it and the runtime's
		// helpers (panicdottypeE, goexit) are not where it panicked.
		if !strings.HasPrefix(f.Function, "runtime.") {
			out = append(out, fmt.Sprintf("%s %s:%d", f.Function, moduleRelative(f.File), f.Line))
		}
		if !more {
			break
		}
	}
	return &PanicError{Value: fmt.Sprint(v), Frames: out}
}

// ParsePanic finds a Go runtime crash report in a process's stderr ("panic:
// <value>", then "goroutine N [running]:" and frame pairs) and returns it,
// or nil when there is none.
func ParsePanic(stderr string) *PanicError {
	i := strings.Index(stderr, "\npanic: ")
	if strings.HasPrefix(stderr, "panic: ") {
		i = -1
	} else if i < 0 {
		return nil
	}
	rest := stderr[i+1+len("panic: "):]
	value, rest, _ := strings.Cut(rest, "\n")
	// A recovered and re-raised panic is printed with a suffix
	// (" [recovered]", " [recovered, repanicked]").
	value = recoveredSuffix.ReplaceAllString(strings.TrimSpace(value), "")
	out := &PanicError{Value: value}
	_, rest, ok := strings.Cut(rest, "goroutine ")
	if !ok {
		return out
	}
	lines := strings.Split(rest, "\n")[1:]
	for j := 0; j+1 < len(lines) && len(out.Frames) < maxPanicFrames; j += 2 {
		fn, loc := strings.TrimSpace(lines[j]), strings.TrimSpace(lines[j+1])
		if fn == "" || !strings.HasPrefix(lines[j+1], "\t") {
			break
		}
		fn = callArgs.ReplaceAllString(fn, "")
		loc, _, _ = strings.Cut(loc, " +0x")
		if strings.HasPrefix(fn, "panic") || strings.HasPrefix(fn, "runtime.") {
			continue
		}
		out.Frames = append(out.Frames, fn+" "+moduleRelative(loc))
	}
	return out
}

// recoveredSuffix is what the runtime appends to a re-raised panic.
var recoveredSuffix = regexp.MustCompile(` \[recovered[^\]]*\]$`)

// callArgs is the argument list the runtime prints after a function.
var callArgs = regexp.MustCompile(`\([^()]*\)$`)

// moduleRelative cuts a source path to the part after the module cache
// ("/root/go/pkg/mod/github.com/x@v1/f.go" -> "github.com/x@v1/f.go"), as
// a -trimpath binary prints it.
func moduleRelative(file string) string {
	if _, after, ok := strings.Cut(file, "/pkg/mod/"); ok {
		return after
	}
	return file
}
