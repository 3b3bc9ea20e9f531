//go:build unix

package fakeregistry

import (
	"fmt"
	"net"
	"syscall"
)

// refusedPort is a TCP socket bound to a loopback port without listen():
// the kernel answers connection attempts with a reset (ECONNREFUSED), and
// no other process can take the port while it is held.
type refusedPort struct {
	fd   int
	addr string
}

func reserveRefusedPort() (*refusedPort, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("bind 127.0.0.1:0: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		syscall.Close(fd)
		return nil, fmt.Errorf("getsockname: unexpected address %T", sa)
	}
	return &refusedPort{fd: fd, addr: net.JoinHostPort("127.0.0.1", fmt.Sprint(in4.Port))}, nil
}

func (p *refusedPort) close() error { return syscall.Close(p.fd) }
