package strictyaml

import (
	"testing"

	"gopkg.in/yaml.v3"
)

type login struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type config struct {
	Name   string            `json:"name"`
	Count  int               `json:"count"`
	On     bool              `json:"on"`
	Logins []login           `json:"logins"`
	Labels map[string]string `json:"labels"`
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", "nmae: x\n", `f.yaml:1:1: nmae: unknown field "nmae"; want one of: count, labels, logins, name, on`},
		{"wrong type", "count: many\n", `f.yaml:1:8: count: want an integer, got "many"`},
		{"bool", "on: maybe\n", `f.yaml:1:5: on: want true or false, got "maybe"`},
		{"duplicate key", "name: a\nname: b\n", `f.yaml:2:1: name: duplicate key "name"`},
		{"duplicate map key", "labels: {a: x, a: y}\n", `f.yaml:1:16: labels.a: duplicate key "a"`},
		{"a list", "logins: {username: u}\n", `f.yaml:1:9: logins: want a list, got a mapping`},
		// A password's value never appears in an error (it ends up in logs).
		{"secret not echoed", "logins:\n- {username: u, password: 12345}\n", `f.yaml:2:27: logins[0].password: want a string, got a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
				t.Fatal(err)
			}
			var c config
			err := (&Decoder{File: "f.yaml"}).Decode(n.Content[0], &c, "")
			if err == nil || err.Error() != tc.want {
				t.Errorf("\n got %v\nwant %s", err, tc.want)
			}
			if _, ok := err.(*FieldError); !ok {
				t.Errorf("error is %T, want *FieldError", err)
			}
		})
	}
}

func TestFieldErrorWithoutLocation(t *testing.T) {
	for _, tc := range []struct {
		e    FieldError
		want string
	}{
		{FieldError{Field: "images[0].ref", Msg: "want a tag"}, "images[0].ref: want a tag"},
		{FieldError{File: "f.yaml", Msg: "empty file"}, "f.yaml: empty file"},
		{FieldError{File: "f.yaml", Line: 3, Field: "x", Msg: "bad"}, "f.yaml:3: x: bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}
