package fakeregistry

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// serveCorrupt answers r the way go-containerregistry's handler would, then
// breaks the answer (Fault.Corrupt): what a client sees when a registry or a
// proxy in front of it fails mid-transfer or serves the wrong bytes.
func (s *Server) serveCorrupt(w http.ResponseWriter, r *http.Request, kind string, corrupt Corruption) {
	good := httptest.NewRecorder()
	s.registry.ServeHTTP(good, r)
	body := good.Body.Bytes()
	if good.Code != http.StatusOK || len(body) == 0 {
		// Nothing served to break (a 404, say): pass the answer on.
		copyHeader(w.Header(), good.Header())
		w.WriteHeader(good.Code)
		_, _ = w.Write(body)
		return
	}
	copyHeader(w.Header(), good.Header())
	switch corrupt {
	case CorruptDigest:
		body = append([]byte(nil), body...)
		if kind == KindManifest {
			// Still JSON, one byte longer: only the digest disagrees.
			body = append(body, '\n')
		} else {
			// A blob keeps its size (clients check it first): one byte
			// differs.
			body[len(body)-1] ^= 0x01
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(good.Code)
		_, _ = w.Write(body)
	case CorruptTruncate:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(good.Code)
		_, _ = w.Write(body[:len(body)/2])
		if f, ok := unwrap(w).(http.Flusher); ok {
			f.Flush()
		}
		// Closes the connection without finishing the response.
		panic(http.ErrAbortHandler)
	case CorruptReset:
		if sw, ok := w.(*statusWriter); ok && sw.status == 0 {
			sw.status = good.Code // the request log's status; hijacked below
		}
		if !s.resetMidBody(w, good, body) {
			panic(http.ErrAbortHandler)
		}
	}
}

// resetMidBody writes the status line, headers and half the body on the raw
// connection and closes it with a TCP reset (SO_LINGER 0). It reports false
// when the connection cannot be taken over (TLS, HTTP/2).
func (s *Server) resetMidBody(w http.ResponseWriter, good *httptest.ResponseRecorder, body []byte) bool {
	hj, ok := unwrap(w).(http.Hijacker)
	if !ok {
		return false
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return false
	}
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		conn.Close()
		return true
	}
	writeHead(buf, good.Code, w.Header(), len(body))
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
	_ = tcp.SetLinger(0)
	tcp.Close()
	return true
}

func writeHead(buf *bufio.ReadWriter, code int, h http.Header, length int) {
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	h.Set("Content-Length", strconv.Itoa(length))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = append([]string(nil), v...)
	}
}

// unwrap finds the http.ResponseWriter the server gave, under the status
// recorder.
func unwrap(w http.ResponseWriter) http.ResponseWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw.ResponseWriter
	}
	return w
}
