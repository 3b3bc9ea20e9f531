package jmespath

import "testing"

var benchData = map[string]any{
	"images": map[string]any{"containers": map[string]any{"app": map[string]any{"registry": "ghcr.io", "path": "team/app", "tag": "1.2.3"}}},
	"request": map[string]any{"object": map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "app", "image": "ghcr.io/team/app:1.2.3"},
		map[string]any{"name": "side", "image": "busybox:latest"},
	}}}},
}

// BenchmarkCompiledQuery: a precompiled expression with custom functions.
func BenchmarkCompiledQuery(b *testing.B) {
	q, err := New().Compile("request.object.spec.containers[].image | [?starts_with(@, 'ghcr.io/')] | length(@)")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Search(benchData); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearch: parse and evaluate each time.
func BenchmarkSearch(b *testing.B) {
	jp := New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jp.Search("to_upper(split(request.object.spec.containers[0].image, ':')[1])", benchData); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew: building the function table.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New()
	}
}
