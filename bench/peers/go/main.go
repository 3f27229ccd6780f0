// SPDX-License-Identifier: MIT
//
// go-peer: a plain Go net/http service, the peer lifetime-demo is measured against. It is written
// the way a well-behaved Go service stops, with the standard library only, and it keeps the same
// contract as lifetime-demo for the endpoints the benchmarks use:
//
//	--listen host:port        where to listen (default 127.0.0.1:8080); with LISTEN_FDS=1 and
//	                          LISTEN_PID=<this pid> (systemd socket activation) fd 3 is used
//	                          instead and --listen is ignored
//	--drain-delay D           after SIGTERM/SIGINT, /readyz answers 503 for D while everything
//	                          else is served as usual (default 0); then http.Server.Shutdown
//	--shutdown-timeout D      how long Shutdown waits for requests in flight (default 30s)
//
//	GET /hello                200 "Hello, world!\n"
//	GET /api/work?seconds=S   sleeps S seconds honouring the request's context; 200 JSON
//	                          {"done":true}; a client that leaves is counted (nothing is written,
//	                          499 in the metric's sense); a stop cancels nothing (Shutdown waits)
//	GET /readyz               200 "ready\n", 503 "stopping\n" from SIGTERM on
//	GET /healthz              200 "ok\n"
//	GET /metrics              Prometheus text: http_requests_total,
//	                          http_requests_aborted_total{reason="client_disconnected"},
//	                          http_requests_in_flight
//
// The stop: SIGTERM → readiness 503 → drain delay (keep-alive as usual) → Shutdown (closes the
// listener and idle connections, answers in-flight requests with Connection: close, waits for
// them) → exit 0; 1 when Shutdown's deadline passed. A second SIGTERM exits at once with 143.
// Durations use Go's syntax (250ms, 1.5s, 2m). A bad flag exits 64 naming it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

type stats struct {
	requests atomic.Int64
	aborted  atomic.Int64
	inFlight atomic.Int64
}

func (s *stats) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		next.ServeHTTP(w, r)
	})
}

func listener(address string) (net.Listener, error) {
	if os.Getenv("LISTEN_FDS") == "1" && os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) {
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_PID")
		return net.FileListener(os.NewFile(3, "listen-fd"))
	}
	return net.Listen("tcp", address)
}

func routes(s *stats, stopping *atomic.Bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, world!\n")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if stopping.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "stopping\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.HandleFunc("/api/work", func(w http.ResponseWriter, r *http.Request) {
		seconds, err := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
		if err != nil || seconds < 0 {
			http.Error(w, "bad seconds", http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(time.Duration(seconds * float64(time.Second))):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{\"done\":true}\n")
		case <-r.Context().Done():
			s.aborted.Add(1) // the client left: nothing to write to
		}
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "http_requests_total %d\n", s.requests.Load())
		fmt.Fprintf(w, "http_requests_aborted_total{reason=\"client_disconnected\"} %d\n",
			s.aborted.Load())
		fmt.Fprintf(w, "http_requests_in_flight %d\n", s.inFlight.Load())
	})
	return mux
}

func main() {
	flags := flag.NewFlagSet("go-peer", flag.ContinueOnError)
	address := flags.String("listen", "127.0.0.1:8080", "host:port to listen on")
	drainDelay := flags.Duration("drain-delay", 0, "readiness 503 for this long before Shutdown")
	shutdownTimeout := flags.Duration("shutdown-timeout", 30*time.Second, "Shutdown's deadline")
	if err := flags.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(64)
	}
	l, err := listener(*address)
	if err != nil {
		log.Printf("listen: %v", err)
		os.Exit(1)
	}
	var s stats
	var stopping atomic.Bool
	server := &http.Server{Handler: s.count(routes(&s, &stopping)), IdleTimeout: 30 * time.Second}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- server.Serve(l) }()

	select {
	case err := <-served:
		log.Printf("serve: %v", err)
		os.Exit(1)
	case <-signals:
	}
	stopping.Store(true)
	go func() {
		<-signals
		os.Exit(143)
	}()
	time.Sleep(*drainDelay)
	ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		log.Printf("shutdown: %v", err)
		os.Exit(1)
	}
}
