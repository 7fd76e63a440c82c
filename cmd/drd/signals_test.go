package main

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuilder is a strings.Builder safe for the signal goroutine.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSignalsCancelThenExit(t *testing.T) {
	var stderr syncBuilder
	exited := make(chan int, 1)
	ctx, stop := cancelOnSignals(context.Background(), &stderr, func(code int) { exited <- code })
	defer stop()

	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
	select {
	case code := <-exited:
		t.Fatalf("exited (%d) on the first signal", code)
	default:
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("second signal: exit(%d), want exit(1)", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not exit")
	}
	for _, want := range []string{"drd: interrupt: stopping and cleaning up", "drd: terminated again: exiting"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
}

func TestSignalsStop(t *testing.T) {
	ctx, stop := cancelOnSignals(context.Background(), &syncBuilder{}, func(int) { t.Error("exit called") })
	stop()
	if ctx.Err() == nil {
		t.Error("stop did not cancel the context")
	}
}
