// The loopback target of the side-by-side benchmark: answers every probe with
// 200 "ok" and records when each request arrived, per path, so lateness is
// measured the same way for every monitor under test (none of them is asked
// when it thinks it probed). Native Go so the target does not compete with the
// monitors for the 2 cores the way a Node server would.
//
//	GET /_arrivals  every recorded arrival since the last reset, one line per
//	                path: "<path> <unix ns> <unix ns> ...", and a line
//	                "connections <n>" (TCP connections accepted since), then
//	                clears them
//	anything else   recorded, answered 200 "ok"
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

type recorder struct {
	mu       sync.Mutex
	arrivals map[string][]int64
	// New TCP connections show whether a monitor reuses connections (keep-alive) or opens one per probe.
	connections int64
}

func (r *recorder) connected() {
	r.mu.Lock()
	r.connections++
	r.mu.Unlock()
}

func (r *recorder) record(path string, at int64) {
	r.mu.Lock()
	r.arrivals[path] = append(r.arrivals[path], at)
	r.mu.Unlock()
}

// drain hands out what was recorded and starts afresh, so each monitor's phase
// of a run is read on its own.
func (r *recorder) drain() (map[string][]int64, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, connections := r.arrivals, r.connections
	r.arrivals = make(map[string][]int64, len(out))
	r.connections = 0
	return out, connections
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The bench reads the port from the first line.
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	rec := &recorder{arrivals: make(map[string][]int64)}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Taken before anything else so the handler's own work is not counted as lateness.
		at := time.Now().UnixNano()
		if req.URL.Path == "/_arrivals" {
			w.Header().Set("Content-Type", "text/plain")
			out := bufio.NewWriter(w)
			arrivals, connections := rec.drain()
			_, _ = fmt.Fprintf(out, "connections %d\n", connections)
			for path, times := range arrivals {
				_, _ = out.WriteString(path)
				for _, t := range times {
					_ = out.WriteByte(' ')
					_, _ = out.WriteString(strconv.FormatInt(t, 10))
				}
				_ = out.WriteByte('\n')
			}
			_ = out.Flush()
			return
		}
		rec.record(req.URL.Path, at)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	})
	server := &http.Server{Handler: handler, ConnState: func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			rec.connected()
		}
	}}
	if err := server.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
