package engines

import (
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name, want, wantErr string
	}{
		{name: "", want: "inprocess"},
		{name: "inprocess", want: "inprocess"},
		{name: "nope", wantErr: `unknown engine "nope"; want one of: `},
	} {
		eng, err := Open(tc.name)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Open(%q) error = %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.name, err)
		}
		if eng.Name() != tc.want {
			t.Errorf("Open(%q).Name() = %q, want %q", tc.name, eng.Name(), tc.want)
		}
	}
}
