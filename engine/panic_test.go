package engine

import (
	"strings"
	"testing"
)

func TestRecoveredNamesThePanickingFunction(t *testing.T) {
	var got *PanicError
	func() {
		defer func() { got = Recovered(recover()) }()
		var v any = 5.0
		_ = v.(string)
	}()
	if want := "interface conversion: interface {} is float64, not string"; got.Value != want {
		t.Errorf("Value = %q, want %q", got.Value, want)
	}
	if got.Error() != "engine panicked: "+got.Value {
		t.Errorf("Error() = %q", got.Error())
	}
	if len(got.Frames) == 0 || !strings.Contains(got.Frames[0], "TestRecoveredNamesThePanickingFunction.func") || !strings.Contains(got.Frames[0], "panic_test.go:") {
		t.Errorf("first frame = %q, want the function that panicked, with its file and line (all: %q)", got.Frames, got.Frames)
	}
}

func TestParsePanic(t *testing.T) {
	stderr := "Warning: deprecated\n\npanic: interface conversion: interface {} is float64, not string\n\n" +
		"goroutine 1 [running]:\n" +
		"github.com/kyverno/kyverno/pkg/engine/context/loaders.(*imageDataLoader).fetchImageData(0x154c3d31f080)\n" +
		"\tgithub.com/kyverno/kyverno@v1.19.1/pkg/engine/context/loaders/imagedata.go:103 +0x7f3\n" +
		"github.com/kyverno/kyverno/pkg/engine/context.(*leveledLoader).LoadData(...)\n" +
		"\tgithub.com/kyverno/kyverno@v1.19.1/pkg/engine/context/deferred.go:75\n"
	got := ParsePanic(stderr)
	if got == nil {
		t.Fatal("ParsePanic = nil")
	}
	if got.Value != "interface conversion: interface {} is float64, not string" {
		t.Errorf("Value = %q", got.Value)
	}
	want := []string{
		"github.com/kyverno/kyverno/pkg/engine/context/loaders.(*imageDataLoader).fetchImageData github.com/kyverno/kyverno@v1.19.1/pkg/engine/context/loaders/imagedata.go:103",
		"github.com/kyverno/kyverno/pkg/engine/context.(*leveledLoader).LoadData github.com/kyverno/kyverno@v1.19.1/pkg/engine/context/deferred.go:75",
	}
	if strings.Join(got.Frames, "\n") != strings.Join(want, "\n") {
		t.Errorf("Frames =\n%s\nwant\n%s", strings.Join(got.Frames, "\n"), strings.Join(want, "\n"))
	}
	if got := ParsePanic("panic: boom [recovered, repanicked]\n"); got == nil || got.Value != "boom" {
		t.Errorf("re-raised panic: got %+v, want value boom", got)
	}
	if ParsePanic("error: no panic here\n") != nil {
		t.Error("ParsePanic found a panic in stderr without one")
	}
}
