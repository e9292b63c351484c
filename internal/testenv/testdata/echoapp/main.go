// Command echoapp is the test workload of the portforward, logs and sync
// integration tests: an HTTP server that logs a numbered line every 100 ms.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	mode := flag.String("mode", "serve", "serve | init (print 3 lines, exit) | kill (SIGTERM pid 1)")
	addr := flag.String("addr", ":8080", "listen address")
	flag.Parse()
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	run := hex.EncodeToString(b)
	switch *mode {
	case "init":
		for i := 1; i <= 3; i++ {
			fmt.Printf("init %s %d\n", run, i)
		}
		return
	case "kill":
		if err := syscall.Kill(1, syscall.SIGTERM); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		fmt.Printf("exiting %s\n", run)
		os.Exit(3)
	}()
	fmt.Printf("started %s %s\n", host, run)
	go func() {
		for i := 1; ; i++ {
			fmt.Printf("tick %s %d\n", run, i)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
