package dashboard

import (
	"net"
	"net/http"
)

// guard keeps the dashboard to this machine's own page:
//   - the Host header must name a loopback address (a page of another site
//     that rebinds its DNS name to 127.0.0.1 sends its own name: refused);
//   - a request that changes something (POST) must come from the
//     dashboard's own origin and carry the X-Devloop header, which a page
//     of another origin cannot send without a CORS preflight that is never
//     granted; a browser always sends Origin on such requests.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "the dashboard answers on 127.0.0.1 only", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if origin := r.Header.Get("Origin"); origin != "" && origin != "http://"+r.Host {
				http.Error(w, "requests from other origins are refused", http.StatusForbidden)
				return
			}
			if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
				http.Error(w, "requests from other sites are refused", http.StatusForbidden)
				return
			}
			if r.Header.Get("X-Devloop") != "1" {
				http.Error(w, "missing X-Devloop header", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
