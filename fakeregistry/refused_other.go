//go:build !unix

package fakeregistry

import "net"

// refusedPort on systems without raw sockets: a port that was free a moment
// ago. Another process could take it, which the unix version rules out.
type refusedPort struct{ addr string }

func reserveRefusedPort() (*refusedPort, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return nil, err
	}
	return &refusedPort{addr: addr}, nil
}

func (p *refusedPort) close() error { return nil }
