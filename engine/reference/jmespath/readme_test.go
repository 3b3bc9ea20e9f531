package jmespath

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeListsFunctions keeps README.md's function lists complete.
func TestReadmeListsFunctions(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Functions() {
		if !strings.Contains(string(readme), name+",") && !strings.Contains(string(readme), name+".") &&
			!strings.Contains(string(readme), name+" (") {
			t.Errorf("README.md does not list %s", name)
		}
	}
}
