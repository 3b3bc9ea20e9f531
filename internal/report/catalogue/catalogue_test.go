package catalogue

import (
	"bytes"
	"strings"
	"testing"

	"github.com/imagectx/conformance/internal/scenario"
	"github.com/imagectx/conformance/internal/scenario/scenariotest"
)

func TestWrite(t *testing.T) {
	off, _ := scenariotest.TwoBindings(t)
	var b bytes.Buffer
	if err := Write(&b, []*scenario.File{off.File}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## fault: missing", "| t | deny | p/r | app | off | error | regex | `^failed: GET http://${REGISTRY}/v2/team/app/manifests/gone: MANIFEST_UNKNOWN` |",
		"| t | deny | p/r | app | on | skip | exact | `preconditions not met` |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("catalogue lacks %q:\n%s", want, b.String())
		}
	}
}
