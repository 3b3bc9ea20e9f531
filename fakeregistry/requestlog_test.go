package fakeregistry

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestRequestLogRoundTrip checks that every field survives the compact
// record, including the fields it stores only when they differ from what
// the path says (a token request's repository comes from the scope).
func TestRequestLogRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 300) // longer than add's stack buffer
	tests := []struct {
		name string
		r    Request
	}{
		{"manifest by tag", Request{Method: "GET", Path: "/v2/team/app/manifests/v1", Kind: KindManifest, Repository: "team/app",
			Reference: "v1", Image: "team/app:v1", Status: 200, Duration: 1234 * time.Nanosecond, CredentialsPresented: true}},
		{"blob by digest, no image", Request{Method: "HEAD", Path: "/v2/a/b/c/blobs/" + zeroHash, Kind: KindBlob,
			Repository: "a/b/c", Reference: zeroHash, Status: 404, Duration: time.Millisecond}},
		{"ping with a delay the client gave up on", Request{Method: "GET", Path: "/v2/", Kind: KindPing, Status: 0,
			Duration: 2 * time.Second, Fault: "delay 2s (client gave up)"}},
		{"token: repository from the scope", Request{Method: "GET", Path: "/token", Kind: KindToken, Repository: "token/app",
			Status: 200, CredentialsPresented: true}},
		{"upload", Request{Method: "POST", Path: "/v2/team/app/blobs/uploads/", Kind: KindUpload, Repository: "team/app", Status: 202}},
		{"other path", Request{Method: "OPTIONS", Path: "/metrics", Kind: KindOther, Status: 404}},
		{"fields that disagree with the path", Request{Method: "GET", Path: "/v2/team/app/manifests/v1", Kind: KindOther,
			Repository: "elsewhere", Reference: "v2", Status: 500, Fault: "status 500"}},
		{"long strings", Request{Method: "GET", Path: "/v2/" + long + "/manifests/" + long, Kind: KindManifest, Repository: long,
			Reference: long, Image: long + ":" + long, Status: 200, Duration: 1<<62 - 1}},
		{"negative duration (clock step)", Request{Method: "GET", Path: "/v2/", Kind: KindPing, Status: 401, Duration: -5}},
	}
	var l requestLog
	var want []Request
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			got, rest := decodeRequest(encodeRequest(nil, &r, parseRoute(r.Path)))
			if len(rest) != 0 {
				t.Errorf("%d bytes left after the record", len(rest))
			}
			if !reflect.DeepEqual(got, tt.r) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, tt.r)
			}
		})
		r := tt.r
		l.add(&r, parseRoute(r.Path))
		want = append(want, tt.r)
	}
	if got := l.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("log holds\n%+v\nwant\n%+v", got, want)
	}
}

// TestRequestLogChunks fills more than one chunk: records never straddle
// two chunks, and none is lost or reordered.
func TestRequestLogChunks(t *testing.T) {
	var l requestLog
	const n = 3 * logChunkSize / 40
	for i := range n {
		path := fmt.Sprintf("/v2/team/app/manifests/v%d", i)
		l.add(&Request{Method: "GET", Path: path, Kind: KindManifest, Repository: "team/app", Reference: fmt.Sprintf("v%d", i), Status: 200, Duration: time.Duration(i)}, parseRoute(path))
	}
	if len(l.chunks) < 2 {
		t.Fatalf("%d chunks, want several", len(l.chunks))
	}
	got := l.all()
	if len(got) != n {
		t.Fatalf("%d records, want %d", len(got), n)
	}
	for i, r := range got {
		if r.Reference != fmt.Sprintf("v%d", i) || r.Duration != time.Duration(i) {
			t.Fatalf("record %d is %+v", i, r)
		}
	}
}
