package fakeregistry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written as "2s" or "500ms" in YAML and JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"2s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"2s\" or \"500ms\", got %q", s)
	}
	*d = Duration(v)
	return nil
}
