package reference

import (
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
)

const foreachBase = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [Pod]
${PRE}    validate:
      message: "${MSG}"
${BODY}`

const twoContainers = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
spec:
  containers:
  - name: a
    image: nginx:1.25
    ports:
    - containerPort: 80
  - name: b
    image: busybox:latest
    ports:
    - containerPort: 8080
`

func TestForeachAndMessages(t *testing.T) {
	cases := []struct {
		name, pre, msg, body, status, want string
	}{
		{"elementIndex in message", "", "",
			"      foreach:\n      - list: request.object.spec.containers\n        deny:\n          conditions:\n            all:\n            - key: \"{{ element.image }}\"\n              operator: Equals\n              value: \"*:latest\"\n              message: \"container {{ elementIndex }} ({{ element.name }}) uses latest\"\n",
			"fail", "validation failure: container 1 (b) uses latest"},
		{"foreach pattern on the element", "", "no latest",
			"      foreach:\n      - list: request.object.spec.containers\n        pattern:\n          image: \"!*:latest\"\n",
			"fail", "validation failure: validation error: no latest. rule r failed at path /image/"},
		{"nested foreach", "", "",
			"      foreach:\n      - list: request.object.spec.containers\n        foreach:\n        - list: element.ports\n          deny:\n            conditions:\n              any:\n              - key: \"{{ element.containerPort }}\"\n                operator: GreaterThan\n                value: 1024\n                message: \"port {{ element1.containerPort }} of {{ element0.name }}\"\n",
			"fail", "validation failure: validation failure: port 8080 of b"},
		{"foreach all pass", "", "x",
			"      foreach:\n      - list: request.object.spec.containers\n        deny:\n          conditions:\n            any:\n            - key: \"{{ element.name }}\"\n              operator: Equals\n              value: c\n",
			"pass", "rule passed"},
		{"missing list is skipped", "", "x",
			"      foreach:\n      - list: request.object.spec.initContainers\n        deny: {}\n",
			"", ""},
		{"list query error", "", "x",
			"      foreach:\n      - list: \"to_upper(request.object.spec.containers)\"\n        deny: {}\n",
			"error", "failed to evaluate list: JMESPath query failed: Invalid type for: "},
		{"foreach preconditions skip elements", "", "x",
			"      foreach:\n      - list: request.object.spec.containers\n        preconditions:\n          all:\n          - key: \"{{ element.name }}\"\n            operator: Equals\n            value: z\n        deny: {}\n",
			"", ""},
		{"precondition messages", "    preconditions:\n      all:\n      - key: \"{{ request.object.metadata.name }}\"\n        operator: Equals\n        value: other\n        message: not other\n", "x",
			"      deny: {}\n", "skip", "preconditions not met; not other"},
		{"deny condition messages", "", "",
			"      deny:\n        conditions:\n          any:\n          - key: \"{{ request.object.metadata.name }}\"\n            operator: AnyIn\n            value: [web, db]\n            message: name is reserved\n",
			"fail", "name is reserved"},
		{"rule and condition messages", "", "denied {{ request.object.metadata.name }}",
			"      deny:\n        conditions:\n          all:\n          - key: \"{{ length(request.object.spec.containers) }}\"\n            operator: GreaterThanOrEquals\n            value: 2\n            message: too many\n",
			"fail", "denied web; too many"},
		{"list-form preconditions", "    preconditions:\n    - key: \"{{ request.operation }}\"\n      operator: Equals\n      value: UPDATE\n", "x",
			"      deny: {}\n", "skip", "preconditions not met"},
		{"element outside foreach is refused", "", "bad {{ element.name }}", "      deny: {}\n",
			"error", "variable 'element.name' present outside of foreach at path /validate/message"},
		{"literal bad reference is refused", "    context:\n    - name: d\n      imageRegistry:\n        reference: \"nginx:::bad\"\n", "x", "      deny: {}\n",
			"error", "path: spec.rules[0]: bad image: nginx:::bad: invalid reference format"},
		{"reserved context name", "    context:\n    - name: images\n      variable:\n        value: 1\n", "x", "      deny: {}\n",
			"error", "path: spec.rules[0]: entry name images is invalid as it conflicts with a pre-defined variable images"},
		{"variable without value", "    context:\n    - name: v\n      variable:\n        default: 1\n", "x", "      deny: {}\n",
			"error", "path: spec.rules[0]: a variable must define a value or a jmesPath expression"},
		{"bad literal jmesPath", "    context:\n    - name: d\n      imageRegistry:\n        reference: \"{{ request.object.spec.containers[0].image }}\"\n        jmesPath: \"a.[\"\n", "x", "      deny: {}\n",
			"error", "path: spec.rules[0]: failed to parse JMESPath a.[: "},
		{"undefined variable is refused", "", "", "      deny:\n        conditions:\n          any:\n          - key: \"{{ imageDta.x }}\"\n            operator: Equals\n            value: x\n",
			"error", `policy contains invalid variables: variable substitution failed for rule r: variable imageDta.x must match regex "request\.|element|elementIndex|@|images|images\.|image\.|([a-z_0-9]+\()[^{}]" or patterns []`},
		{"user info in background is refused", "", "{{ request.userInfo.username }}", "      deny: {}\n",
			"error", "only select variables are allowed in background mode. Set spec.background=false to disable background mode for this policy rule: variable {{ request.userInfo.username }} is not allowed"},
		{"variable in exclude is refused", "", "", "      deny: {}\n    exclude:\n      any:\n      - resources:\n          names: [\"{{ request.object.metadata.name }}\"]\n",
			"error", `policy contains invalid variables: rule "r" should not have variables in exclude section`},
		{"quantity and duration", "", "x",
			"      deny:\n        conditions:\n          all:\n          - key: 2Gi\n            operator: GreaterThan\n            value: 1024Mi\n          - key: 90m\n            operator: DurationGreaterThan\n            value: 1h\n",
			"fail", "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			policy := fill(foreachBase, "PRE", tc.pre, "MSG", tc.msg, "BODY", tc.body)
			res := evaluate(t, New(), policy, twoContainers, evalOpts{})
			if tc.status == "" {
				if len(res) != 0 {
					t.Errorf("want no result, got %v", res)
				}
				return
			}
			got := one(t, res)
			if got.Status != engine.Status(tc.status) || !strings.HasPrefix(got.Message, tc.want) {
				t.Errorf("want %s: %s\n got %s: %s", tc.status, tc.want, got.Status, got.Message)
			}
		})
	}
}
